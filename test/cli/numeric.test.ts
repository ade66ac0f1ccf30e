// Values that overflow or underflow a plain sum of squares, and values far outside the bulk: the run
// either succeeds with a sound fit or fails with its own exit code, never "converged" on garbage.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';
import { relativeError } from '../relative-error.ts';

let dir: string;
/** truth.csv's pairs as "row,col" -> value. */
let truth: Map<string, number>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-numeric-'));
  const r = runCli(dir, ['generate', '--rows', '200', '--cols', '50', '--rank', '3', '--observed', '3000', '--seed', '1',
    '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '500']);
  expect(r.status, r.stderr).toBe(0);
  truth = new Map(readCsv(join(dir, 't.csv')).map(([i, j, v]) => [`${i},${j}`, Number(v)]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The data of g.csv with each value mapped (with its entry's index), and `extra` lines appended. */
function variant(name: string, map: (v: number, e: number) => number, extra: string[] = []): string {
  const rows = readCsv(join(dir, 'g.csv')).map(([i, j, v], e) => `${i},${j},${map(Number(v), e)}`);
  writeFileSync(join(dir, name), ['row,col,value', ...rows, ...extra].join('\n') + '\n');
  return name;
}

/** Relative error of OUT/predictions.csv, each prediction mapped back, against the truth. */
function predictionError(out: string, back: (p: number) => number): number {
  const pred = readCsv(join(dir, out, 'predictions.csv'));
  return relativeError(pred.map((p) => back(Number(p[2]))), pred.map(([i, j]) => truth.get(`${i},${j}`)!));
}

describe('overflow, underflow and outliers', () => {
  it('one value of 1e300 among 3,000: clipped by default, reported, and the fit sound', () => {
    const input = variant('big.csv', (v) => v, ['199,49,1e300']);
    const r = runCli(dir, ['complete', '--input', input, '--output', 'big', '--predict', 't.csv', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'big', 'report.json'), 'utf8'));
    expect(report.outliers).toMatchObject({ policy: 'clip', count: 1, examples: [{ row: '199', col: '49', value: 1e300 }] });
    expect(Number.isFinite(report.lambda)).toBe(true);
    expect(predictionError('big', (v) => v)).toBeLessThan(0.05);
  });

  it('all values x 1e-200: the scale does not underflow and the fit is as good as unscaled', () => {
    const plain = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'plain', '--predict', 't.csv', '--quiet']);
    expect(plain.status, plain.stderr).toBe(0);
    const input = variant('tiny.csv', (v) => v * 1e-200);
    const r = runCli(dir, ['complete', '--input', input, '--output', 'tiny', '--predict', 't.csv', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'tiny', 'report.json'), 'utf8'));
    expect(report.sweeps).toBeGreaterThan(3);
    const tinyErr = predictionError('tiny', (p) => p * 1e200);
    expect(tinyErr).toBeLessThan(1.5 * predictionError('plain', (v) => v) + 1e-3);
  });

  it('ratings around 3 with three values of 1e6: clipped, the fit far better than kept; --outliers error refuses them', ({ annotate }) => {
    const clean = variant('ratings.csv', (v) => 3 + v);
    const c = runCli(dir, ['complete', '--input', clean, '--output', 'clean', '--predict', 't.csv', '--quiet']);
    expect(c.status, c.stderr).toBe(0);
    const wild = new Set([10, 500, 2000]);
    const dirty = variant('dirty.csv', (v, e) => (wild.has(e) ? 1e6 : 3 + v));
    const r = runCli(dir, ['complete', '--input', dirty, '--output', 'dirty', '--predict', 't.csv', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'dirty', 'report.json'), 'utf8')).outliers.count).toBe(3);
    const k = runCli(dir, ['complete', '--input', dirty, '--output', 'kept', '--outliers', 'keep', '--predict', 't.csv', '--quiet']);
    expect(k.status, k.stderr).toBe(0);
    const [cleanErr, clippedErr, keptErr] = ['clean', 'dirty', 'kept'].map((o) => predictionError(o, (p) => p - 3)) as [number, number, number];
    void annotate(`relative error: clean ${cleanErr.toExponential(2)}, outliers clipped ${clippedErr.toExponential(2)}, kept ${keptErr.toExponential(2)}`);
    expect(clippedErr).toBeLessThan(0.15);
    expect(clippedErr).toBeLessThan(keptErr / 100);
    const e = runCli(dir, ['complete', '--input', dirty, '--output', 'refused', '--outliers', 'error', '--quiet']);
    expect(e.status).toBe(65);
    expect(e.stderr).toMatch(/^lin-rfm: dirty\.csv: row "\d+", column "\d+": value 1000000 is .* robust standard deviations from the median .*3 values beyond it.*\n$/);
  });
});
