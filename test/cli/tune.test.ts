// complete --tune: a grid of engine settings on one load, the best validated run kept. The grid's
// parsing; the winner is the run of lowest validation RMSE and gives the bytes of a plain run with
// its settings (tuned.json as --config); refusals for --resume and spilled jobs.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRID, parseGrid } from '../../cli/tune.ts';
import { LinRfmError } from '../../config/errors.ts';
import { readCsv, runCli } from './helpers.ts';

describe('parseGrid', () => {
  it('is the cross product, first setting slowest, by flag or config name, values checked by their settings', () => {
    expect(parseGrid('alpha=0.5,0.75; lambdaFactor=1,2,4')).toEqual([
      { alpha: 0.5, lambdaFactor: 1 }, { alpha: 0.5, lambdaFactor: 2 }, { alpha: 0.5, lambdaFactor: 4 },
      { alpha: 0.75, lambdaFactor: 1 }, { alpha: 0.75, lambdaFactor: 2 }, { alpha: 0.75, lambdaFactor: 4 },
    ]);
    expect(parseGrid('kernel-rank=auto,8;lambda-schedule=fixed')).toEqual([{ kernelRank: 'auto', lambdaSchedule: 'fixed' }, { kernelRank: 8, lambdaSchedule: 'fixed' }]);
    expect(parseGrid('default')).toEqual(parseGrid(DEFAULT_GRID));
    expect(parseGrid('default')).toHaveLength(6);
  });

  it('refuses unknown or untunable names, bad values, repeats and empty grids (config errors, exit 78)', () => {
    const cases: Array<[string, RegExp]> = [
      ['alfa=1', /alfa cannot be tuned/], ['workers=1,2', /workers cannot be tuned/], ['alpha=-1', /alpha = -1: must be > 0/],
      ['lambda-schedule=weekly', /must be one of adaptive, official, fixed/], ['alpha=1;alpha=2', /given twice/], ['alpha', /expected name=v1,v2/], [' ; ', /no settings to try/],
      ['kernel-rank=0', /kernel-rank = 0/],
    ];
    for (const [text, why] of cases) {
      let err: unknown;
      try {
        parseGrid(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(LinRfmError);
      expect((err as LinRfmError).exitCode, text).toBe(78);
      expect((err as LinRfmError).message, text).toMatch(why);
    }
  });
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-tune-'));
  const g = runCli(dir, ['generate', '--rows', '300', '--cols', '40', '--rank', '3', '--observed', '5000', '--noise', '0.3', '--seed', '12', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '300']);
  expect(g.status, g.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('complete --tune (seed 12)', () => {
  const base = ['--input', 'g.csv', '--predict', 't.csv', '--quiet', '--workers', '2', '--max-sweeps', '25'];
  it('keeps the run of lowest validation RMSE, whose settings (tuned.json) repeat its bytes in a plain run', () => {
    const r = runCli(dir, ['complete', ...base, '--output', 'tuned', '--tune', 'alpha=0.5,0.75;lambda=0.01,0.3;lambda-schedule=fixed']);
    expect(r.status, r.stderr).toBe(0);
    const table = readCsv(join(dir, 'tuned', 'tune.csv'));
    expect(table).toHaveLength(4);
    const head = readFileSync(join(dir, 'tuned', 'tune.csv'), 'utf8').split('\n')[0]!.split(',');
    const at = (name: string): number => head.indexOf(name);
    const rmse = table.map((row) => Number(row[at('best_validation_rmse')]));
    const best = rmse.indexOf(Math.min(...rmse));
    expect(table.map((row) => row[at('winner')])).toEqual(rmse.map((_, i) => (i === best ? '1' : '0')));
    // the runs differ: the grid was really tried
    expect(new Set(rmse).size).toBeGreaterThan(1);
    const report = JSON.parse(readFileSync(join(dir, 'tuned', 'report.json'), 'utf8')) as { tune: { winner: number; settings: Record<string, unknown>; runs: unknown[] }; bestValidationRmse: number; options: { alpha: number } };
    expect(report.tune.winner).toBe(best);
    expect(report.tune.runs).toHaveLength(4);
    expect(report.options.alpha).toBe(Number(table[best]![at('alpha')]));
    const config = JSON.parse(readFileSync(join(dir, 'tuned', 'tuned.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ ...report.tune.settings, lambdaSchedule: 'fixed', maxSweeps: 25 });
    expect(config).not.toHaveProperty('workers');
    expect(config).not.toHaveProperty('input');
    const plain = runCli(dir, ['complete', ...base, '--output', 'plain', '--config', join('tuned', 'tuned.json')]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(readFileSync(join(dir, 'plain', 'predictions.csv'), 'utf8')).toBe(readFileSync(join(dir, 'tuned', 'predictions.csv'), 'utf8'));
    expect(readFileSync(join(dir, 'plain', 'model', 'kernel.arrow')).equals(readFileSync(join(dir, 'tuned', 'model', 'kernel.arrow')))).toBe(true);
  });

  it('refuses --resume (exit 64) and a spilled job (exit 78), writing nothing', () => {
    const resume = runCli(dir, ['complete', ...base, '--output', 'r1', '--tune', 'default', '--resume']);
    expect(resume.status).toBe(64);
    expect(resume.stderr).toContain('--tune and --resume');
    const spilled = runCli(dir, ['complete', ...base, '--output', 'r2', '--tune', 'default', '--spill', 'always']);
    expect(spilled.status).toBe(78);
    expect(spilled.stderr).toContain('a tuned job runs in memory');
    for (const out of ['r1', 'r2']) expect(() => readFileSync(join(dir, out, 'report.json'))).toThrow();
  });
});
