// The regression-samples experiment on a tiny grid: CSV shape and contents, the SVG's labels, one log
// event per cell; by name through the executable on the smoke grid.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { METHODS, runRegressionSamples, smokeGrid, type RegressionSamplesGrid } from '../../../paper/experiments/regression-samples.ts';
import type { ExperimentOutput } from '../../../paper/experiments/types.ts';
import { expectWritten, runSmoke, tempDirs } from './helpers.ts';

// d = 100, s = 3: n = 60 is far above the l1 transition (about 2 s log(d / s) ~ 21).
const GRID: RegressionSamplesGrid = {
  d: 100, s: 3, ns: [30, 60], seeds: [1], values: 'gaussian', methods: METHODS, caps: { reweight: 60, dln: 300 },
};

const tempDir = tempDirs();

describe('regression-samples experiment (tiny grid, seed 1)', () => {
  let dir = '';
  let out: ExperimentOutput;
  const events: [string, Record<string, unknown>][] = [];

  beforeAll(async () => {
    dir = await tempDir('regression-samples-');
    out = await runRegressionSamples(GRID, dir, (e, f) => events.push([e, f]));
  });

  it('writes one CSV row per (n, method, seed) with the documented columns', async () => {
    expect(out.csv).toEqual([join(dir, 'regression-samples.csv')]);
    const lines = (await readFile(out.csv[0]!, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('d,s,n,method,seed,rel_error,iterations,seconds');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBe(GRID.ns.length * METHODS.length);
    for (const r of rows) {
      expect(r.length).toBe(8);
      expect(r[0]).toBe('100');
      expect(r[1]).toBe('3');
      expect(['30', '60']).toContain(r[2]);
      expect(METHODS as readonly string[]).toContain(r[3]);
      expect(r[4]).toBe('1');
      expect(Number(r[5])).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(Number(r[6]))).toBe(true);
      expect(Number(r[7])).toBeGreaterThanOrEqual(0);
    }
    // The pipeline scores against the right truth: the convex methods recover beta* at n = 60.
    const err = (m: string, n: string) => Number(rows.find((r) => r[3] === m && r[2] === n)![5]);
    for (const m of ['lin-RFM alpha=1/4 (p=1)', 'IRLS p=1', 'Lasso']) expect(err(m, '60'), m).toBeLessThan(1e-3);
  });

  it('writes one SVG naming every method, and logs one cell event per cell', async () => {
    await expectWritten(out, dir, 'regression-samples.csv', ['regression-samples.svg']);
    const svg = await readFile(out.svg[0]!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const m of METHODS) expect(svg, m).toContain(`>${m}</text>`);
    expect(events.length).toBe(GRID.ns.length * METHODS.length);
    expect(events.every(([e]) => e === 'cell')).toBe(true);
  });

  it('summarises the medians of every method, as its smoke grid runs every method', () => {
    const summary = out.summary as { medians: Record<string, Record<string, number>> };
    expect(Object.keys(summary.medians)).toEqual([...METHODS]);
    expect(smokeGrid.methods).toEqual(METHODS);
  });
});

describe('lin-rfm experiment regression-samples', () => {
  it('--smoke runs by name and writes the CSV with a row per method, the figure and report.json', () => {
    const { header, rows } = runSmoke('regression-samples', ['regression-samples.svg']);
    expect(header).toBe('d,s,n,method,seed,rel_error,iterations,seconds');
    const methods = rows.map((r) => r[3]);
    for (const m of smokeGrid.methods) expect(methods, m).toContain(m);
  });
});
