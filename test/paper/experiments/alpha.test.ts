// The alpha experiment on a two-point grid: CSV rows and columns, progress events, the figures'
// labels; by name through the executable on the smoke grid.

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { quickGrid, runAlpha, smokeGrid, type AlphaGrid } from '../../../paper/experiments/alpha.ts';
import { cellLog, expectWritten, runSmoke, tempDirs } from './helpers.ts';

const tempDir = tempDirs();

describe('alpha', () => {
  it('alpha 1/4 and 1/2, with and without momentum, 36 x 36 rank 2, 500 observed, seed 4', async () => {
    const dir = await tempDir('alpha-');
    const grid: AlphaGrid = {
      alphas: [0.25, 0.5], momenta: [0, 0.95], target: 1e-2,
      sizes: [{ rows: 36, cols: 36, rank: 2, observed: 500, seeds: [4], maxSweeps: 150, testSample: 0 }],
    };
    const { events, log } = cellLog();
    const out = await runAlpha(grid, dir, log);
    await expectWritten(out, dir, 'alpha.csv', ['alpha-error.svg', 'alpha-sweeps.svg']);
    expect(events).toHaveLength(4);

    const lines = (await readFile(out.csv[0]!, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('size,rank,observed,alpha,momentum,seed,rel_error,sweeps,best_sweep,sweeps_to_0.01,seconds,stop');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => `${r[3]}/${r[4]}`).sort()).toEqual(['0.25/0', '0.25/0.95', '0.5/0', '0.5/0.95']);
    for (const r of rows) {
      expect(r).toHaveLength(12);
      expect(r.slice(0, 3)).toEqual(['36x36', '2', '500']);
      expect(r[5]).toBe('4');
      const err = Number(r[6]);
      expect(err).toBeGreaterThan(0);
      expect(err).toBeLessThan(2);
      expect(Number(r[8])).toBeLessThan(Number(r[7]));
    }
    // 500 of 1,296 entries is 3.5x the 140 degrees of freedom: alpha 1/2 recovers it
    for (const r of rows.filter((x) => x[3] === '0.5')) {
      expect(Number(r[6])).toBeLessThan(1e-2);
      expect(Number(r[9])).toBeGreaterThanOrEqual(1);
    }
    for (const path of out.svg) {
      const svg = await readFile(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('>36x36 m=500 mom 0</text>');
      expect(svg).toContain('>36x36 m=500 mom 0.95</text>');
      expect(svg).toContain('>alpha (K = G^(2 alpha))</text>');
    }
    const relError = out.summary['relError'] as Record<string, Record<string, number>>;
    expect(Object.keys(relError['36x36 m=500 mom 0']!)).toEqual(['0.25', '0.5']);
  }, 30_000);

  it('its quick grid is alpha 1/8 to 1; its smoke grid keeps every alpha and momentum', () => {
    expect(quickGrid.alphas).toEqual([0.125, 0.25, 0.375, 0.5, 0.75, 1]);
    expect(smokeGrid.alphas).toEqual(quickGrid.alphas);
    expect(smokeGrid.momenta).toEqual(quickGrid.momenta);
  });
});

describe('lin-rfm experiment alpha', () => {
  it('--smoke runs by name and writes the CSV with a row per (alpha, momentum), both figures and report.json', () => {
    const { header, rows } = runSmoke('alpha', ['alpha-error.svg', 'alpha-sweeps.svg']);
    expect(header).toBe(`size,rank,observed,alpha,momentum,seed,rel_error,sweeps,best_sweep,sweeps_to_${smokeGrid.target},seconds,stop`);
    const cells = new Set(rows.map((r) => r.slice(3, 5).join('/')));
    for (const a of smokeGrid.alphas) {
      for (const m of smokeGrid.momenta) expect(cells, `${a}/${m}`).toContain(`${a}/${m}`);
    }
  });
});
