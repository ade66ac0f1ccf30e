// The time-vs-size experiment on a two-point grid: CSV rows and columns, progress events, the figures'
// labels; by name through the executable on the smoke grid.

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { METHODS, quickGrid, runTimeVsSize, sampleUnobserved, smokeGrid, type TimeVsSizeGrid } from '../../../paper/experiments/time-vs-size.ts';
import { generateLowRank } from '../../../engine/synthetic.ts';
import { cellLog, expectWritten, runSmoke, tempDirs } from './helpers.ts';

const tempDir = tempDirs();

describe('time-vs-size', () => {
  it('d = 40 and 45, rank 2, seeds 0 and 3: one row per (d, seed, method), two log-log figures naming every method', async () => {
    const dir = await tempDir('time-vs-size-');
    const grid: TimeVsSizeGrid = { ...quickGrid, dims: [40, 45], rank: 2, oversampling: 3, seeds: [0, 3], maxSweeps: 150, budgetSeconds: 5, testSample: 1500 };
    const { events, log } = cellLog();
    const out = await runTimeVsSize(grid, dir, log);
    await expectWritten(out, dir, 'time-vs-size.csv', ['time-vs-size-per-iter.svg', 'time-vs-size-to-tol.svg']);
    expect(events).toHaveLength(2 * 2 * METHODS.length);

    const lines = (await readFile(out.csv[0]!, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('d,n,observed,method,alpha,root,seed,sweeps,sec_per_iter,sweeps_to_tol,sec_to_tol,rel_error,hit_cap,stop,kernel');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(2 * 2 * METHODS.length);
    // 3x oversampled rank 2 at this size, seeds 0-9 measured (150 sweeps): 78 of the 80 cells reach
    // 1e-2. alpha = 1/4 reaches it in all 20 (d, seed) cells, in 27-131 sweeps (median ~60; 42 and
    // 64 at d = 40, 27 and 31 at d = 45 for seeds 0 and 3); alpha = 1/2 in 13-27 sweeps, except seed
    // 3 at d = 40. There it is stuck, not slow: the test error sits at 0.071-0.075 for 1,000 sweeps
    // (ridge at its floor, validation MSE drifting up from 4e-5 to 3e-3), so patience stops it at
    // sweep 64 with the best-validation kernel (0.068 on the sampled entries), the products and the
    // eigendecomposition alike. Whether it sticks depends on the held-out 5% (that problem with split
    // seeds 0-9: 2 stick at ~0.07, 8 reach 5e-5 or below in 150 sweeps). More sweeps would not change it.
    for (const r of rows) {
      expect(r).toHaveLength(15);
      expect(r[14]).toBe(METHODS.find((m) => m.label === r[3])!.kernelRank === undefined ? 'dense' : 'low-rank k=10');
      expect(['40', '45']).toContain(r[0]);
      expect(r[1]).toBe(r[0]);
      // round(3 * 2 * d * ln d), at most half the entries
      expect(Number(r[2])).toBe(Math.min(Math.round(6 * Number(r[0]) * Math.log(Number(r[0]))), Math.floor(Number(r[0]) ** 2 / 2)));
      expect(['0', '3']).toContain(r[6]);
      expect(Number(r[8])).toBeGreaterThan(0);
      // never the sweep cap, the time budget or a divergence: reached, or stopped by patience
      expect(['callback', 'patience']).toContain(r[13]);
      expect(Number(r[11])).toBeLessThan(0.2);
      if (r[12] === '0') {
        expect(r[13]).toBe('callback');
        expect(Number(r[11])).toBeLessThanOrEqual(1e-2);
        expect(Number(r[10])).toBeGreaterThan(0);
      } else expect(r[10]).toBe('');
      // alpha = 1/4 (Newton-Schulz and eig) reaches the tolerance in every cell
      if (r[4] === '0.25') expect(r[12]).toBe('0');
    }
    // alpha = 1/2 reaches it in at least half of the (d, seed) cells, two rows each (seeds 0-9: 18
    // of 20 cells; here 3 of 4, 6 of the 8 rows)
    expect(rows.filter((r) => r[4] === '0.5' && r[12] === '0').length).toBeGreaterThanOrEqual(4);
    // the same iteration whichever way the power is taken: both reach the tolerance and their sweeps
    // to it agree within 2, or both stop short at the same error (seed 3, d = 40, alpha = 1/2)
    for (const d of ['40', '45']) {
      for (const seed of ['0', '3']) {
        const at = (label: string): string[] => rows.find((r) => r[0] === d && r[6] === seed && r[3] === label)!;
        for (const [a, b] of [[at(METHODS[0]!.label), at(METHODS[2]!.label)], [at(METHODS[1]!.label), at(METHODS[3]!.label)]] as const) {
          expect(b[12]).toBe(a[12]);
          if (a[12] === '0') expect(Math.abs(Number(a[9]) - Number(b[9]))).toBeLessThanOrEqual(2);
          else expect(Math.abs(Number(a[11]) - Number(b[11]))).toBeLessThanOrEqual(0.01 * Number(a[11]));
        }
      }
    }
    for (const path of out.svg) {
      const svg = await readFile(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const m of METHODS) expect(svg).toContain(`>${m.label}</text>`);
      expect(svg).toContain('>d (columns)</text>');
    }
    expect(await readFile(out.svg[1]!, 'utf8')).toContain('seconds to relative test error &lt;= 0.01');
  }, 30_000);

  it('samples only unobserved entries (seed 5)', () => {
    const p = generateLowRank({ rows: 20, cols: 15, rank: 2, observed: 200, seed: 5 });
    const { rows, cols } = sampleUnobserved(p.train, 500, new Rng(5));
    for (let e = 0; e < rows.length; e++) {
      const i = rows[e]!;
      const seen = Array.from(p.train.colIdx.subarray(p.train.rowPtr[i]!, p.train.rowPtr[i + 1]!));
      expect(seen).not.toContain(cols[e]);
    }
  });

  it('its quick grid is d = 100 to 800; its smoke grid runs every method at two sizes', () => {
    expect(quickGrid.dims).toEqual([100, 200, 400, 800]);
    expect(smokeGrid.methods).toEqual(METHODS);
    // a log-log curve needs two points
    expect(smokeGrid.dims.length).toBeGreaterThanOrEqual(2);
  });
});

describe('lin-rfm experiment time-vs-size', () => {
  it('--smoke runs by name and writes the CSV with a row per method, both figures and report.json', () => {
    const { header, rows } = runSmoke('time-vs-size', ['time-vs-size-per-iter.svg', 'time-vs-size-to-tol.svg']);
    expect(header).toBe('d,n,observed,method,alpha,root,seed,sweeps,sec_per_iter,sweeps_to_tol,sec_to_tol,rel_error,hit_cap,stop,kernel');
    const methods = rows.map((r) => r[3]);
    for (const m of smokeGrid.methods) expect(methods, m.label).toContain(m.label);
  });
});
