// The regression-samples experiment on a tiny grid: CSV shape and contents, the SVG's labels, one log
// event per cell; by name through the executable on the smoke grid.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, runRegressionSamples, smokeGrid, type RegressionSamplesGrid } from '../../../paper/experiments/regression-samples.ts';
import type { ExperimentOutput } from '../../../paper/experiments/types.ts';
import { BIN } from '../../cli/helpers.ts';

// d = 100, s = 3: n = 60 is far above the l1 transition (about 2 s log(d / s) ~ 21).
const GRID: RegressionSamplesGrid = {
  d: 100, s: 3, ns: [30, 60], seeds: [1], values: 'gaussian', methods: METHODS, caps: { reweight: 60, dln: 300 },
};

describe('regression-samples experiment (tiny grid, seed 1)', () => {
  let dir = '';
  let out: ExperimentOutput;
  const events: [string, Record<string, unknown>][] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regression-samples-'));
    out = await runRegressionSamples(GRID, dir, (e, f) => events.push([e, f]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
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
    expect(out.svg).toEqual([join(dir, 'regression-samples.svg')]);
    const svg = await readFile(out.svg[0]!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const m of METHODS) expect(svg, m).toContain(`>${m}</text>`);
    expect(events.length).toBe(GRID.ns.length * METHODS.length);
    expect(events.every(([e]) => e === 'cell')).toBe(true);
    // Atomic writes leave no temp files behind.
    expect((await readdir(dir)).sort()).toEqual(['regression-samples.csv', 'regression-samples.svg']);
  });

  it('summarises the medians of every method, as its smoke grid runs every method', () => {
    const summary = out.summary as { medians: Record<string, Record<string, number>> };
    expect(Object.keys(summary.medians)).toEqual([...METHODS]);
    expect(smokeGrid.methods).toEqual(METHODS);
  });
});

describe('lin-rfm experiment regression-samples', () => {
  it('--smoke runs by name and writes the CSV with a row per method, the figure and report.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regression-samples-smoke-'));
    try {
      // LINRFM_* settings of the caller's environment left out
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LINRFM_')));
      const r = spawnSync(process.execPath, [BIN, 'experiment', 'regression-samples', '--smoke', '--output', dir, '--quiet'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const lines = readFileSync(join(dir, 'regression-samples.csv'), 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('d,s,n,method,seed,rel_error,iterations,seconds');
      const methods = lines.slice(1).map((l) => l.split(',')[3]);
      for (const m of smokeGrid.methods) expect(methods, m).toContain(m);
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { outputs: { svg: string[] } };
      expect(report).toMatchObject({ command: 'experiment', experiment: 'regression-samples', grid: 'smoke' });
      expect(report.outputs.svg).toEqual([join(dir, 'regression-samples.svg')]);
      for (const path of report.outputs.svg) {
        expect(existsSync(path), path).toBe(true);
        expect(readFileSync(path, 'utf8').startsWith('<svg'), path).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
