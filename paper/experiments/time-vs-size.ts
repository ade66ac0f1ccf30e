// Experiment time-vs-size: seconds per sweep and to a test error as d grows, SVD-free lin-RFM against eigendecomposition-based IRLS.

import { join } from 'node:path';
import { complete } from '../../pipeline/index.ts';
import type { Series } from '../svg.ts';
import { Rng } from '../../kernels/index.ts';
import { findEntry, generateLowRank, type Csr, type EngineOptions, type RootMethod, type StopReason } from '../../engine/index.ts';
import { CellStore } from './cells.ts';
import { testError } from './trace.ts';
import { defineExperiment, experimentOutput, median, medianCurve, runCell, writeChart, writeCsv } from './common.ts';
import type { ExperimentOptions, ExperimentOutput } from './types.ts';

/**
 * One curve: the same engine and schedule, differing only in how K_{t+1} = G^(2 alpha) is formed.
 * lin-RFM(alpha) is IRLS-p with p = 2 - 4 alpha, so root 'eig' is IRLS with its weights from an
 * eigendecomposition every iteration (alpha = 1/2 included, where the products need none).
 */
export interface TimeMethod {
  /** Legend and CSV name: no commas, ~20 characters at most (the chart's legend column). */
  label: string;
  alpha: number;
  root: RootMethod;
  /** The kernel kept as a d x d matrix (absent) or in low-rank form, of this rank (engine/lowrank.ts). */
  kernelRank?: number;
}

export const METHODS: readonly TimeMethod[] = [
  { label: 'RFM a=1/2 products', alpha: 0.5, root: 'auto' },
  { label: 'RFM a=1/4 NS root', alpha: 0.25, root: 'newton-schulz' },
  { label: 'IRLS p=0 eig (a=1/2)', alpha: 0.5, root: 'eig' },
  { label: 'IRLS p=1 eig (a=1/4)', alpha: 0.25, root: 'eig' },
  // rank 2 r of the rank-r problem: room for the signal and a margin, no d x d matrix formed
  { label: 'RFM a=1/2 low-rank', alpha: 0.5, root: 'auto', kernelRank: 10 },
  { label: 'RFM a=1/4 low-rank', alpha: 0.25, root: 'auto', kernelRank: 10 },
];

export interface TimeVsSizeGrid {
  /** Columns d; the matrix is rowsPerCol d x d, rank `rank`. */
  dims: number[];
  rowsPerCol: number;
  rank: number;
  /** Observed entries: round(oversampling rank n ln d), at most half of all. */
  oversampling: number;
  methods: readonly TimeMethod[];
  seeds: number[];
  /** A run counts as done when its relative test error (below) is at or below this. */
  tolerance: number;
  maxSweeps: number;
  /** Per run: stop once its sweeps have taken this many seconds (the tolerance then counts as missed). */
  budgetSeconds: number;
  /** Unobserved entries sampled (with replacement, seeded) for the relative test error. */
  testSample: number;
  /**
   * Kernel extrapolation cap. 0 keeps every method what it says: an extrapolated G is indefinite,
   * and the Newton-Schulz root then hands it to the eigendecomposition (see nextKernelPower).
   */
  momentum: number;
}

/**
 * quick: d = 100 to 800 (3-4 minutes on 2 cores: the eigendecomposition methods get ~30 s a run,
 * a handful of sweeps at d = 800, so their seconds to the tolerance stay blank there).
 */
export const quickGrid: TimeVsSizeGrid = {
  dims: [100, 200, 400, 800], rowsPerCol: 1, rank: 5, oversampling: 2, methods: METHODS, seeds: [0],
  tolerance: 1e-2, maxSweeps: 1000, budgetSeconds: 30, testSample: 20000, momentum: 0,
};

/**
 * smoke: d = 20 and 30 (so each curve draws a segment), one seed, every method for at most 30
 * sweeps or a second (seconds): checks that the command runs end to end and writes its CSV and both
 * figures, not evidence for any claim.
 */
export const smokeGrid: TimeVsSizeGrid = {
  dims: [20, 30], rowsPerCol: 1, rank: 2, oversampling: 2, methods: METHODS, seeds: [0],
  tolerance: 1e-2, maxSweeps: 30, budgetSeconds: 1, testSample: 200, momentum: 0,
};

/**
 * medium: d = 200 to 3,200, one seed, a minute a run: where the low-rank form's sweeps (no d x d
 * matrix) part from the dense form's d^3 products and the eigendecompositions (~25 minutes).
 */
export const mediumGrid: TimeVsSizeGrid = {
  dims: [200, 400, 800, 1600, 3200], rowsPerCol: 1, rank: 5, oversampling: 2, methods: METHODS, seeds: [0],
  tolerance: 1e-2, maxSweeps: 3000, budgetSeconds: 60, testSample: 50000, momentum: 0,
};

/** full: up to d = 3000 with budgets that let the eigendecomposition methods reach the tolerance (hours). */
export const fullGrid: TimeVsSizeGrid = {
  dims: [100, 200, 400, 800, 1200, 2000, 3000], rowsPerCol: 1, rank: 5, oversampling: 2, methods: METHODS, seeds: [0, 1],
  tolerance: 1e-2, maxSweeps: 3000, budgetSeconds: 3600, testSample: 50000, momentum: 0,
};

export interface TimeRecord {
  d: number;
  n: number;
  observed: number;
  method: string;
  alpha: number;
  root: RootMethod;
  seed: number;
  sweeps: number;
  /** Median seconds of a sweep (fit, AGOP, kernel power), the last (AGOP-less) sweep left out. */
  secPerIter: number;
  /** Sweeps through the first whose fit reached the tolerance, and the seconds they took (NaN: missed). */
  sweepsToTol: number;
  secToTol: number;
  /** Relative test error of the last sweep's fit. */
  relError: number;
  hitCap: boolean;
  stop: StopReason | 'budget';
  /** 'dense', or 'low-rank k=K' (absent in cells written before the low-rank form was measured: dense). */
  kernel?: string;
}

/** `count` unobserved (row, col) pairs of m, uniformly with replacement. */
export function sampleUnobserved(m: Csr, count: number, rng: Rng): { rows: Int32Array; cols: Int32Array } {
  const rows = new Int32Array(count);
  const cols = new Int32Array(count);
  for (let e = 0; e < count; ) {
    const i = Math.floor(rng.uniform() * m.nRows);
    const j = Math.floor(rng.uniform() * m.nCols);
    if (findEntry(m, i, j) >= 0) continue;
    rows[e] = i;
    cols[e++] = j;
  }
  return { rows, cols };
}

function measureCell(grid: TimeVsSizeGrid, d: number, method: TimeMethod, seed: number): TimeRecord {
  const n = grid.rowsPerCol * d;
  const observed = Math.min(Math.round(grid.oversampling * grid.rank * n * Math.log(d)), Math.floor((n * d) / 2));
  const prob = generateLowRank({ rows: n, cols: d, rank: grid.rank, observed, seed });
  const { rows, cols } = sampleUnobserved(prob.train, grid.testSample, new Rng(seed + 7919));
  const error = testError(rows, cols, Float64Array.from(rows, (i, e) => prob.truth(i, cols[e]!)));
  const start = performance.now();
  let sweepsToTol = Number.NaN;
  let secToTol = Number.NaN;
  let relError = Number.NaN;
  let overBudget = false;
  const opts: Partial<EngineOptions> = {
    alpha: method.alpha, root: method.root, seed, maxSweeps: grid.maxSweeps, momentum: grid.momentum, tol: 0, finalRidge: 'keep',
    ...(method.kernelRank === undefined ? {} : { kernel: 'low-rank' as const, kernelRank: method.kernelRank }),
  };
  const res = complete(prob.train, opts, (info, probe) => {
    relError = error(probe.predict);
    if (relError <= grid.tolerance) {
      sweepsToTol = info.sweep + 1;
      return 'stop';
    }
    // wall clock (the sweeps' own times are filled in after this callback)
    if ((performance.now() - start) / 1000 > grid.budgetSeconds) {
      overBudget = true;
      return 'stop';
    }
    return undefined;
  });
  // through the fit that reached the tolerance (that last sweep forms no AGOP)
  let elapsed = 0;
  for (const h of res.history) elapsed += h.seconds;
  if (Number.isFinite(sweepsToTol)) secToTol = elapsed;
  const times = res.history.slice(0, Math.max(1, res.history.length - 1)).map((h) => h.seconds);
  const stop = overBudget ? 'budget' : res.stopReason;
  return {
    d, n, observed, method: method.label, alpha: method.alpha, root: method.root, seed, sweeps: res.sweeps,
    secPerIter: median(times), sweepsToTol, secToTol, relError,
    hitCap: !Number.isFinite(sweepsToTol), stop, kernel: method.kernelRank === undefined ? 'dense' : `low-rank k=${method.kernelRank}`,
  };
}

const COLORS = ['#d62728', '#1f77b4', '#ff7f0e', '#17becf', '#2ca02c', '#9467bd'];

/** Runs every (d, method, seed) cell, writes time-vs-size.csv and two log-log figures. */
export async function runTimeVsSize(
  grid: TimeVsSizeGrid, outDir: string, log: ExperimentOptions['log'], cells: CellStore<TimeRecord> = CellStore.memory(),
): Promise<ExperimentOutput> {
  const t0 = performance.now();
  const records: TimeRecord[] = [];
  for (const d of grid.dims) {
    for (const seed of grid.seeds) {
      for (const method of grid.methods) {
        await runCell(cells, `d ${d} seed ${seed} ${method.label}`, records, log, () => [measureCell(grid, d, method, seed)]);
      }
    }
  }
  const header = 'd,n,observed,method,alpha,root,seed,sweeps,sec_per_iter,sweeps_to_tol,sec_to_tol,rel_error,hit_cap,stop,kernel';
  const num = (x: number, p: number): string => (Number.isFinite(x) ? x.toPrecision(p) : '');
  const lines = records.map((r) => [
    r.d, r.n, r.observed, r.method, r.alpha, r.root, r.seed, r.sweeps, num(r.secPerIter, 4),
    Number.isFinite(r.sweepsToTol) ? r.sweepsToTol : '', num(r.secToTol, 4), num(r.relError, 4), r.hitCap ? 1 : 0, r.stop, r.kernel ?? 'dense',
  ].join(','));
  const csvPath = await writeCsv(join(outDir, 'time-vs-size.csv'), header, lines);

  const figures: Array<{ file: string; key: 'secPerIter' | 'secToTol'; title: string; yLabel: string }> = [
    { file: 'time-vs-size-per-iter.svg', key: 'secPerIter', title: 'seconds per sweep against d', yLabel: 'seconds per sweep (median)' },
    {
      file: 'time-vs-size-to-tol.svg', key: 'secToTol',
      title: `seconds to relative test error ${grid.tolerance} against d`, yLabel: `seconds to relative test error <= ${grid.tolerance}`,
    },
  ];
  const svg: string[] = [];
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  const shape = grid.rowsPerCol === 1 ? 'd x d' : `${grid.rowsPerCol}d x d`;
  for (const f of figures) {
    summary[f.key] = {};
    const series: Series[] = grid.methods.map((m, k) => {
      const { points, band, medians } = medianCurve(grid.dims, (d) => records.filter((r) => r.d === d && r.method === m.label).map((r) => r[f.key]));
      summary[f.key]![m.label] = medians;
      return { label: m.label, points, band, color: COLORS[k % COLORS.length]!, dashed: m.root === 'eig' };
    });
    svg.push(await writeChart(join(outDir, f.file), series, {
      title: `${f.title} (${shape}, rank ${grid.rank}, seed${grid.seeds.length > 1 ? 's' : ''} ${grid.seeds.join(', ')})`,
      xLabel: 'd (columns)', yLabel: f.yLabel, logX: true, logY: true, width: 900,
    }));
  }
  return experimentOutput(t0, csvPath, svg, summary, records.length);
}

export const timeVsSize = defineExperiment({
  name: 'time-vs-size',
  description:
    'seconds per sweep and seconds to relative test error 1e-2 against d (square, rank 5, 2 r n ln d observed): '
    + 'SVD-free lin-RFM (alpha 1/2 by products, alpha 1/4 by Newton-Schulz, and both with the kernel in low-rank form) '
    + 'against the same iteration with eigendecomposition powers (IRLS p = 0 and p = 1)',
  grids: { smoke: smokeGrid, quick: quickGrid, medium: mediumGrid, full: fullGrid },
  withSeeds: (grid: TimeVsSizeGrid, seeds) => ({ ...grid, seeds: [...seeds] }),
  run: runTimeVsSize,
});

export const gridFor = timeVsSize.gridFor;
