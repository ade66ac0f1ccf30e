// --center side-bias through the executable: the low-rank kernel it takes, the same bytes on 1 and 2
// workers, a model whose side biases predict's fold-in applies to complete's predictions byte for
// byte, better held-out ratings than mean centering on biased data, a spilled run that predicts what
// the in-memory one does, and the one-line refusal of a dense kernel with exit 78.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-side-bias-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = 5;
const run = (...args: string[]): ReturnType<typeof runCli> => runCli(dir, args);
const text = (p: string): string => readFileSync(join(dir, p), 'utf8');
const common = ['--input', 'train.csv', '--predict', 'truth.csv', '--kernel-rank', '6', '--seed', '3', '--quiet'];

/** RMSE of a run's predictions against the truth file's values (the same pairs, in order). */
function rmse(out: string): number {
  const pred = readCsv(join(dir, out, 'predictions.csv'));
  const truth = readCsv(join(dir, 'truth.csv'));
  let se = 0;
  for (const [e, t] of truth.entries()) {
    expect(pred[e]!.slice(0, 2)).toEqual(t.slice(0, 2));
    se += (Number(pred[e]![2]) - Number(t[2])) ** 2;
  }
  return Math.sqrt(se / truth.length);
}

describe(`lin-rfm complete --center side-bias (ratings profile, data seed ${SEED})`, () => {
  beforeAll(() => {
    const g = run('generate', '--profile', 'ratings', '--rows', '600', '--cols', '200', '--rank', '3', '--observed', '20000', '--seed', String(SEED), '--out', 'train.csv', '--truth', 'truth.csv');
    expect(g.status, g.stderr).toBe(0);
    const c = run('complete', ...common, '--center', 'side-bias', '--output', 'side', '--top-k', '3', '--workers', '2');
    expect(c.status, c.stderr).toBe(0);
  }, 120_000);

  it('takes the low-rank kernel, says so, and 1 worker gives the bytes of 2', () => {
    const report = JSON.parse(text('side/report.json'));
    expect(report.kernel.form).toBe('low-rank');
    expect(report.kernel.why).toMatch(/--center side-bias/);
    expect(report.center.kind).toBe('side-bias');
    expect(run('complete', ...common, '--center', 'side-bias', '--output', 'one', '--top-k', '3', '--workers', '1').status).toBe(0);
    for (const f of ['predictions.csv', 'topk.csv', 'model/kernel.arrow', 'model/keys.arrow', 'model/model.json']) expect(text(`one/${f}`), f).toBe(text(`side/${f}`));
  });

  it('writes the side biases into the model, and predict folds the training rows in to complete\'s bytes', () => {
    const meta = JSON.parse(text('side/model/model.json'));
    expect(meta.center.kind).toBe('side-bias');
    const f = run('predict', '--model', join('side', 'model'), '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'fold', '--quiet');
    expect(f.status, f.stderr).toBe(0);
    expect(text('fold/predictions.csv')).toBe(text('side/predictions.csv'));
  });

  it('predicts the held-out ratings better than mean centering with the same kernel', () => {
    const m = run('complete', ...common, '--kernel', 'low-rank', '--center', 'mean', '--output', 'mean', '--workers', '2');
    expect(m.status, m.stderr).toBe(0);
    const [side, mean] = [rmse('side'), rmse('mean')];
    expect(side).toBeLessThan(mean);
  });

  it('spilled, predicts what the in-memory run predicts (to 1e-9)', () => {
    const s = run('complete', ...common, '--center', 'side-bias', '--spill', 'always', '--spill-chunk', '4000', '--output', 'spilled', '--workers', '2');
    expect(s.status, s.stderr).toBe(0);
    expect(JSON.parse(text('spilled/report.json')).memory.spilledChunks).toBeGreaterThan(1);
    const a = readCsv(join(dir, 'spilled', 'predictions.csv'));
    const b = readCsv(join(dir, 'side', 'predictions.csv'));
    for (const [e, r] of a.entries()) expect(Math.abs(Number(r[2]) - Number(b[e]![2]))).toBeLessThan(1e-9 * Math.max(1, Math.abs(Number(b[e]![2]))));
  });

  it('is refused with --kernel dense, in one line with exit 78', () => {
    const dense = run('complete', ...common, '--center', 'side-bias', '--kernel', 'dense', '--output', 'no1');
    expect(dense.status).toBe(78);
    expect(dense.stderr.trim().split('\n')).toHaveLength(1);
    expect(dense.stderr).toMatch(/side-bias fits its biases with the low-rank kernel/);
  });
});
