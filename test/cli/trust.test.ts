// Regression tests of smaller faults a scheduled job cannot live with: pair columns matched by name,
// the worker count capped, unknown environment variables, a transposed model in predict, merged
// duplicates counted, and the progress line's time.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepReporter } from '../../cli/report.ts';
import type { Progress } from '../../cli/progress.ts';
import type { SweepInfo } from '../../engine/options.ts';
import { cleanEnv, readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-trust-'));
  const r = runCli(dir, ['generate', '--rows', '300', '--cols', '60', '--rank', '3', '--observed', '6000', '--seed', '3', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '300']);
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quick = ['--max-sweeps', '5', '--quiet'];

describe('trust', () => {
  it('a --predict CSV headed col,row is read by the column names, not swapped', () => {
    const pairs = readCsv(join(dir, 't.csv'));
    writeFileSync(join(dir, 'swapped.csv'), ['col,row', ...pairs.map(([i, j]) => `${j},${i}`)].join('\n') + '\n');
    const a = runCli(dir, ['complete', '--input', 'g.csv', '--predict', 't.csv', '--output', 'a', ...quick]);
    const b = runCli(dir, ['complete', '--input', 'g.csv', '--predict', 'swapped.csv', '--output', 'b', ...quick]);
    expect([a.status, b.status]).toEqual([0, 0]);
    const pa = readCsv(join(dir, 'a', 'predictions.csv'));
    const pb = readCsv(join(dir, 'b', 'predictions.csv'));
    expect(pb.map(([i, j, v]) => [i, j, v])).toEqual(pa.map(([i, j, v]) => [i, j, v]));
  });

  it('--workers beyond the cores is capped, with a warning', () => {
    const r = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'w', '--workers', '64', ...quick]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--workers 64 is more than the ${availableParallelism()} cores here`);
    expect(JSON.parse(readFileSync(join(dir, 'w', 'report.json'), 'utf8')).workers).toBe(availableParallelism());
  });

  it('an unknown LINRFM_* variable is ignored with a warning, not a refusal', () => {
    const r = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'e', ...quick], cleanEnv({ LINRFM_MAX_SWEPS: '3' }));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('ignoring the environment variable LINRFM_MAX_SWEPS: not a setting (did you mean LINRFM_MAX_SWEEPS?)');
  });

  it('predict with a model whose kernel is on the rows is bad data (65), not a usage error', () => {
    // more columns than rows: the kernel lies on the input's rows
    const wide = readCsv(join(dir, 'g.csv')).map(([i, j, v]) => `${j},${i},${v}`);
    writeFileSync(join(dir, 'wide.csv'), ['row,col,value', ...wide].join('\n') + '\n');
    expect(runCli(dir, ['complete', '--input', 'wide.csv', '--output', 'wm', ...quick]).status).toBe(0);
    const r = runCli(dir, ['predict', '--model', 'wm/model', '--input', 'wide.csv', '--predict', 't.csv', '--output', 'wp', '--quiet']);
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/^lin-rfm: wm\/model\/model\.json: transposed: this model's kernel is on the training input's rows/);
  });

  it('predict publishes its set (predictions, report) in a locked folder and leaves a model beside it', () => {
    expect(runCli(dir, ['complete', '--input', 'g.csv', '--output', 'pm', '--top-k', '2', ...quick]).status).toBe(0);
    const r = runCli(dir, ['predict', '--model', 'pm/model', '--input', 'g.csv', '--predict', 't.csv', '--output', 'pm', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'pm', 'report.json'), 'utf8'));
    expect(report.command).toBe('predict');
    expect(report.outputs.predictions).toBe(join(dir, 'pm', 'predictions.csv'));
    expect(readdirSync(join(dir, 'pm')).sort()).toEqual(['model', 'predictions.csv', 'report.json', 'topk.csv']);
  });

  it('report.json counts the merged duplicates, in memory and spilled alike', () => {
    const lines = readFileSync(join(dir, 'g.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(dir, 'dups.csv'), [...lines, ...lines.slice(1, 8)].join('\n') + '\n');
    for (const spill of ['never', 'always']) {
      const out = `dups-${spill}`;
      const r = runCli(dir, ['complete', '--input', 'dups.csv', '--duplicates', 'mean', '--spill', spill, '--output', out, ...quick]);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8')).input.mergedDuplicates).toBe(7);
    }
  });

  it('the progress line shows the time of a whole sweep, not 0 ms', async () => {
    const lines: string[] = [];
    const progress: Progress = { event: () => {}, status: (t) => lines.push(t), info: () => {}, warn: () => {}, done: () => {} };
    const report = sweepReporter(progress, 10);
    const info = { sweep: 0, lambda: 0.05, validationRmse: 0.1, validationRelMse: 0.01, agop: 'factored', cholFallbacks: 0, restarts: 0, seconds: 0, solveSeconds: 0, agopSeconds: 0 } satisfies SweepInfo;
    report(info, { predict: () => new Float64Array(0) });
    await new Promise((r) => setTimeout(r, 30));
    report({ ...info, sweep: 1 }, { predict: () => new Float64Array(0) });
    const ms = Number(/ (\d+) ms$/.exec(lines[1]!)![1]);
    expect(ms).toBeGreaterThanOrEqual(25);
  });
});
