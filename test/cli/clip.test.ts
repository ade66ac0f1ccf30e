// --clip lo,hi: predictions, top-k scores and the full matrix clipped into the scale; the top-k
// lists still ranked by the unclipped scores; a bad range is a usage error.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-clip-'));
  const g = runCli(dir, ['generate', '--rows', '100', '--cols', '20', '--rank', '2', '--observed', '1000', '--seed', '6', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '200']);
  expect(g.status, g.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--clip (seed 6)', () => {
  it('clips what is written and nothing else: the same fit, the same top-k lists', () => {
    const common = ['complete', '--input', 'g.csv', '--predict', 't.csv', '--top-k', '3', '--full', '--max-sweeps', '8', '--quiet'];
    expect(runCli(dir, [...common, '--output', 'plain']).status).toBe(0);
    const r = runCli(dir, [...common, '--output', 'clipped', '--clip', '-0.5,0.5']);
    expect(r.status, r.stderr).toBe(0);
    const plain = readCsv(join(dir, 'plain', 'predictions.csv')).map((x) => Number(x[2]));
    const clipped = readCsv(join(dir, 'clipped', 'predictions.csv')).map((x) => Number(x[2]));
    // the generated values spread well past 0.5 either way, so some are clipped
    expect(plain.some((v) => Math.abs(v) > 0.5)).toBe(true);
    expect(clipped).toEqual(plain.map((v) => Math.min(0.5, Math.max(-0.5, v))));
    const topPlain = readCsv(join(dir, 'plain', 'topk.csv'));
    const topClipped = readCsv(join(dir, 'clipped', 'topk.csv'));
    expect(topClipped.map((x) => [x[0], x[1], x[3]])).toEqual(topPlain.map((x) => [x[0], x[1], x[3]]));
    expect(topClipped.map((x) => Number(x[2]))).toEqual(topPlain.map((x) => Math.min(0.5, Math.max(-0.5, Number(x[2])))));
    const full = readCsv(join(dir, 'clipped', 'full.csv')).map((x) => Number(x[2]));
    expect(Math.max(...full)).toBeLessThanOrEqual(0.5);
    expect(Math.min(...full)).toBeGreaterThanOrEqual(-0.5);
  });

  it('a range that is not lo < hi is a usage error (exit 64)', () => {
    const r = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'bad', '--clip', '5,1']);
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/--clip: expected two finite numbers lo,hi with lo < hi/);
  });
});
