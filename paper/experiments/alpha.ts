// Experiment alpha: test error and sweeps of lin-RFM against the kernel power alpha, with and without momentum.

import { join } from 'node:path';
import { complete } from '../../pipeline/index.ts';
import type { Series } from '../svg.ts';
import { Rng } from '../../kernels/index.ts';
import { generateLowRank, unobservedPairs, type StopReason } from '../../engine/index.ts';
import { CellStore } from './cells.ts';
import { defineExperiment, experimentOutput, medianCurve, runCell, writeChart, writeCsv } from './common.ts';
import { sampleUnobserved } from './time-vs-size.ts';
import type { ExperimentOptions, ExperimentOutput } from './types.ts';

export interface AlphaSize {
  rows: number;
  cols: number;
  rank: number;
  observed: number;
  seeds: number[];
  maxSweeps: number;
  /** Unobserved entries sampled for the test error; 0 = all of them. */
  testSample: number;
}

export interface AlphaGrid {
  /** K = G^(2 alpha): alpha = 1/4 is IRLS p = 1 (nuclear norm), 1/2 is p = 0 (log det), 1 is p = -2. */
  alphas: number[];
  /** Kernel extrapolation caps to compare (0 = the plain iteration). */
  momenta: number[];
  sizes: AlphaSize[];
  /** Sweeps until the relative test error first reaches this are reported too. */
  target: number;
}

const ALPHAS = [0.125, 0.25, 0.375, 0.5, 0.75, 1];

/** quick: 100 x 100 rank 5, 3,000 observed (3x the 975 degrees of freedom), seeds 0-2 (a few minutes). */
export const quickGrid: AlphaGrid = {
  alphas: ALPHAS, momenta: [0, 0.95], target: 1e-2,
  sizes: [{ rows: 100, cols: 100, rank: 5, observed: 3000, seeds: [0, 1, 2], maxSweeps: 500, testSample: 0 }],
};

/**
 * smoke: 20 x 20 rank 2, 200 observed, one seed, every alpha with and without momentum for at most
 * 30 sweeps (seconds): checks that the command runs end to end and writes its CSV and both figures,
 * not evidence for any claim.
 */
export const smokeGrid: AlphaGrid = {
  alphas: ALPHAS, momenta: [0, 0.95], target: 1e-2,
  sizes: [{ rows: 20, cols: 20, rank: 2, observed: 200, seeds: [0], maxSweeps: 30, testSample: 0 }],
};

/** full: also 2,000 observed, and the paper's case (500 x 500, rank 5, 10,000 observed); five seeds. */
export const fullGrid: AlphaGrid = {
  alphas: ALPHAS, momenta: [0, 0.95], target: 1e-2,
  sizes: [
    { rows: 100, cols: 100, rank: 5, observed: 2000, seeds: [0, 1, 2, 3, 4], maxSweeps: 1500, testSample: 0 },
    { rows: 100, cols: 100, rank: 5, observed: 3000, seeds: [0, 1, 2, 3, 4], maxSweeps: 1500, testSample: 0 },
    { rows: 500, cols: 500, rank: 5, observed: 10000, seeds: [0, 1, 2, 3, 4], maxSweeps: 3000, testSample: 50000 },
  ],
};

export interface AlphaRecord {
  size: string;
  rank: number;
  observed: number;
  alpha: number;
  momentum: number;
  seed: number;
  /** Relative test error (unobserved entries) of the model the engine keeps (best validation sweep). */
  relError: number;
  sweeps: number;
  bestSweep: number;
  /** Sweeps through the first fit whose relative test error reached the target (NaN: never). */
  sweepsToTarget: number;
  seconds: number;
  stop: StopReason;
}

/** A curve's legend entry, short enough for the chart's legend column: '100x100 m=3000 mom 0.95'. */
function label(size: string, observed: number, momentum: number): string {
  return `${size} m=${observed} mom ${momentum}`;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Runs every (size, alpha, momentum, seed) cell, writes alpha.csv, alpha-error.svg and alpha-sweeps.svg. */
export async function runAlpha(grid: AlphaGrid, outDir: string, log: ExperimentOptions['log'], cells: CellStore<AlphaRecord> = CellStore.memory()): Promise<ExperimentOutput> {
  const t0 = performance.now();
  const records: AlphaRecord[] = [];
  for (const sz of grid.sizes) {
    const size = `${sz.rows}x${sz.cols}`;
    for (const seed of sz.seeds) {
      const prob = generateLowRank({ rows: sz.rows, cols: sz.cols, rank: sz.rank, observed: sz.observed, seed });
      const { rows, cols } = sz.testSample > 0 ? sampleUnobserved(prob.train, sz.testSample, new Rng(seed + 7919)) : unobservedPairs(prob.train);
      const truth = Float64Array.from(rows, (i, e) => prob.truth(i, cols[e]!));
      let den = 0;
      for (const t of truth) den += t * t;
      const pred = new Float64Array(rows.length);
      const relError = (): number => {
        let num = 0;
        for (let e = 0; e < pred.length; e++) num += (pred[e]! - truth[e]!) ** 2;
        return Math.sqrt(num / den);
      };
      for (const momentum of grid.momenta) {
        for (const alpha of grid.alphas) {
          await runCell(cells, `${size} rank ${sz.rank} m=${sz.observed} seed ${seed} momentum ${momentum} alpha ${alpha}`, records, log, () => {
            const ts = performance.now();
            let sweepsToTarget = Number.NaN;
            const res = complete(prob.train, { alpha, momentum, seed, maxSweeps: sz.maxSweeps, finalRidge: 'keep' }, (info, probe) => {
              if (Number.isFinite(sweepsToTarget)) return;
              probe.predict(rows, cols, pred);
              if (relError() <= grid.target) sweepsToTarget = info.sweep + 1;
            });
            res.predict(rows, cols, pred);
            return [{
              size, rank: sz.rank, observed: sz.observed, alpha, momentum, seed, relError: relError(),
              sweeps: res.sweeps, bestSweep: res.bestSweep, sweepsToTarget, seconds: (performance.now() - ts) / 1000, stop: res.stopReason,
            }];
          });
        }
      }
    }
  }

  const header = `size,rank,observed,alpha,momentum,seed,rel_error,sweeps,best_sweep,sweeps_to_${grid.target},seconds,stop`;
  const lines = records.map((r) => [
    r.size, r.rank, r.observed, r.alpha, r.momentum, r.seed, r.relError.toPrecision(6), r.sweeps, r.bestSweep,
    Number.isFinite(r.sweepsToTarget) ? r.sweepsToTarget : '', r.seconds.toFixed(3), r.stop,
  ].join(','));
  const csvPath = await writeCsv(join(outDir, 'alpha.csv'), header, lines);

  const curves = grid.sizes.flatMap((sz) => grid.momenta.map((momentum) => ({ sz, momentum })));
  const figures: Array<{ file: string; key: 'relError' | 'sweeps'; yLabel: string; title: string }> = [
    { file: 'alpha-error.svg', key: 'relError', yLabel: 'relative test error (unobserved entries)', title: 'test error against alpha' },
    { file: 'alpha-sweeps.svg', key: 'sweeps', yLabel: 'sweeps run (early stopping)', title: 'sweeps against alpha' },
  ];
  const svg: string[] = [];
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  for (const f of figures) {
    summary[f.key] = {};
    const series: Series[] = curves.map(({ sz, momentum }, k) => {
      const size = `${sz.rows}x${sz.cols}`;
      const name = label(size, sz.observed, momentum);
      const { points, band, medians } = medianCurve(grid.alphas, (alpha) => records
        .filter((r) => r.size === size && r.observed === sz.observed && r.momentum === momentum && r.alpha === alpha)
        .map((r) => r[f.key]));
      summary[f.key]![name] = medians;
      return { label: name, points, band, color: COLORS[k % COLORS.length]!, dashed: momentum > 0 };
    });
    const seeds = [...new Set(grid.sizes.flatMap((s) => s.seeds))].join(', ');
    svg.push(await writeChart(join(outDir, f.file), series, {
      title: `lin-RFM ${f.title}: median, min-max over seeds ${seeds}`,
      xLabel: 'alpha (K = G^(2 alpha))', yLabel: f.yLabel, logY: true, width: 960,
    }));
  }
  return experimentOutput(t0, csvPath, svg, summary, records.length);
}

export const alphaExperiment = defineExperiment({
  name: 'alpha',
  description:
    'lin-RFM test error and sweeps against alpha (1/8 to 1; 1/4 is IRLS p = 1, 1/2 is p = 0) with and without '
    + 'momentum: 100 x 100 rank 5 (and, full grid, the paper case 500 x 500 rank 5, 10,000 observed)',
  grids: { smoke: smokeGrid, quick: quickGrid, full: fullGrid },
  withSeeds: (grid: AlphaGrid, seeds) => ({ ...grid, sizes: grid.sizes.map((s) => ({ ...s, seeds: [...seeds] })) }),
  run: runAlpha,
});

export const gridFor = alphaExperiment.gridFor;
