// generate --profile ratings: a seeded ratings-shaped problem on a 1-5 scale, power-law users, the
// truth a held-out share disjoint from the training entries.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-genratings-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generate --profile ratings (seed 2)', () => {
  const args = (out: string, truth: string): string[] => ['generate', '--profile', 'ratings', '--rows', '400', '--cols', '300', '--rank', '3', '--observed', '8000', '--seed', '2', '--out', out, '--truth', truth];

  it('integer ratings 1..5, power-law rows, a truth disjoint from training, the same bytes from the same seed', () => {
    expect(runCli(dir, args('r.csv', 'rt.csv')).status).toBe(0);
    expect(runCli(dir, args('r2.csv', 'rt2.csv')).status).toBe(0);
    expect(readFileSync(join(dir, 'r2.csv'), 'utf8')).toBe(readFileSync(join(dir, 'r.csv'), 'utf8'));
    const train = readCsv(join(dir, 'r.csv'));
    const truth = readCsv(join(dir, 'rt.csv'));
    for (const [, , v] of [...train, ...truth]) expect(['1', '2', '3', '4', '5']).toContain(v);
    // every rating level occurs, and the middle of the scale most
    const levels = new Map<string, number>();
    for (const [, , v] of train) levels.set(v!, (levels.get(v!) ?? 0) + 1);
    expect(levels.size).toBe(5);
    const counts = new Map<string, number>();
    for (const [i] of train) counts.set(i!, (counts.get(i!) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => a - b);
    expect(sorted[0]).toBeGreaterThanOrEqual(4);
    expect(sorted.at(-1)!).toBeGreaterThan(4 * sorted[Math.floor(sorted.length / 2)]!);
    const seen = new Set(train.map(([i, j]) => `${i},${j}`));
    expect(truth.length).toBeGreaterThan(0);
    for (const [i, j] of truth) expect(seen.has(`${i},${j}`)).toBe(false);
  });

  it('fewer than 5 ratings a row is a usage error (exit 64)', () => {
    const r = runCli(dir, ['generate', '--profile', 'ratings', '--rows', '100', '--cols', '10', '--rank', '2', '--observed', '300', '--out', 'x.csv']);
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/fewer than 5 ratings/);
  });
});
