// Experiment completion-samples: relative test error against the number of observed entries, lin-RFM against the baselines.

import { join } from 'node:path';
import { complete } from '../../pipeline/index.ts';
import type { Series } from '../svg.ts';
import type { BaselineResult, IterateHook } from '../baselines/common.ts';
import { completeDln } from '../baselines/dln.ts';
import { completeIrls } from '../baselines/irls.ts';
import { completeSoftImpute } from '../baselines/softimpute.ts';
import { generateLowRank, unobservedPairs, type Csr } from '../../engine/index.ts';
import { CellStore } from './cells.ts';
import { errorTrace } from './trace.ts';
import { defineExperiment, experimentOutput, medianCurve, runCell, writeChart, writeCsv } from './common.ts';
import type { ExperimentOptions, ExperimentOutput } from './types.ts';

export const METHODS = [
  'lin-RFM alpha=1/4',
  'lin-RFM alpha=1/2',
  'lin-RFM alpha=1',
  'IRLS p=1',
  'IRLS p=0',
  'DLN depth 2',
  'DLN depth 3',
  'DLN depth 4',
  'soft-impute',
] as const;
export type Method = (typeof METHODS)[number];

/** Iteration caps by family: lin-RFM sweeps, IRLS reweightings, DLN gradient steps, soft-impute steps. */
export interface Caps {
  linrfm: number;
  irls: number;
  dln: number;
  softimpute: number;
}

export interface SizeGrid {
  rows: number;
  cols: number;
  rank: number;
  observed: number[];
  seeds: number[];
  methods: readonly Method[];
  caps: Caps;
  /** lin-RFM's stopping tolerance (relative validation MSE); 0: none, it stops on patience or its cap. Default the engine's. */
  tol?: number;
  /** Every method's wall-time budget a fit (seconds, the error evaluations left out); none when absent. */
  budgetSeconds?: number;
}

export interface CompletionSamplesGrid {
  sizes: SizeGrid[];
}

// Caps sized to this machine (2 cores): at 100 x 100 a DLN step takes ~2 ms and an IRLS p = 1
// reweighting ~15 ms (a 100 x 100 eigendecomposition); at 500 x 500 an eigendecomposition takes
// ~0.8 s and a depth-4 DLN step ~0.15 s. A run that reaches its cap is marked in the CSV (hit_cap).
const CAPS_100: Caps = { linrfm: 1000, irls: 600, dln: 3000, softimpute: 3000 };
const CAPS_500: Caps = { linrfm: 1000, irls: 300, dln: 2000, softimpute: 1500 };

/**
 * quick (minutes on the two cores of this machine):
 * 100 x 100 rank 5 at four sample counts and three seeds with every method (DLN capped at 1,200
 * steps, IRLS at 400 reweightings, soft-impute at 2,000 steps); 500 x 500 rank 5 at two sample
 * counts and one seed with the methods that need no eigendecomposition per iteration: it drops
 * lin-RFM alpha = 1/4 and IRLS p = 1 (an eigendecomposition each iteration) and the deep linear
 * networks (thousands of n k d steps), and caps IRLS p = 0 at 300 and soft-impute at 600.
 * lin-RFM runs without a validation tolerance (it stops on patience or its 1,000-sweep cap), so its
 * errors are its floor, not its stopping rule's (with the default 1e-6 it stopped near 1e-3).
 */
export const quickGrid: CompletionSamplesGrid = {
  sizes: [
    {
      rows: 100, cols: 100, rank: 5, observed: [1500, 2000, 3000, 4000], seeds: [0, 1, 2], methods: METHODS,
      caps: { linrfm: 1000, irls: 400, dln: 1200, softimpute: 2000 }, tol: 0,
    },
    {
      rows: 500, cols: 500, rank: 5, observed: [10000, 15000], seeds: [0],
      methods: ['lin-RFM alpha=1/2', 'lin-RFM alpha=1', 'IRLS p=0', 'soft-impute'],
      caps: { ...CAPS_500, softimpute: 600 }, tol: 0,
    },
  ],
};

/**
 * smoke: 20 x 20 rank 2 at two sample counts (so each curve draws a segment), one seed, every
 * method at a few dozen iterations (seconds): checks that the command runs end to end and writes
 * its CSV and figure, not evidence for any claim.
 */
export const smokeGrid: CompletionSamplesGrid = {
  sizes: [{ rows: 20, cols: 20, rank: 2, observed: [160, 240], seeds: [0], methods: METHODS, caps: { linrfm: 30, irls: 20, dln: 100, softimpute: 100 } }],
};

/**
 * medium: the published matrix size (500 x 500, rank 5) at five sample counts from below the
 * published 10,000 to 20,000, three seeds, every method, each fit given the same 25 s of wall time
 * (the error evaluations of its trace left out); lin-RFM without a tolerance (it stops on patience
 * or the budget, so it goes to its floor when it gets there in time), the other methods' iteration
 * caps set past what 25 s allows, so the budget is what stops them. 135 cells, at most ~56 minutes
 * of fits on this machine; run in parts with --resume --cells.
 */
export const mediumGrid: CompletionSamplesGrid = {
  sizes: [{
    rows: 500, cols: 500, rank: 5, observed: [6000, 8000, 10000, 15000, 20000], seeds: [0, 1, 2], methods: METHODS,
    caps: { linrfm: 20000, irls: 20000, dln: 100000, softimpute: 100000 }, tol: 0, budgetSeconds: 25,
  }],
};

/**
 * full: the published sizes, more sample counts, five seeds, every method, lin-RFM without a
 * tolerance. 100 x 100 (cells 0-449): ten sample counts, each method to its caps. 500 x 500 (cells
 * 450-764): seven sample counts, each fit given 25 s of wall time as in the medium grid (at most
 * ~2.2 hours of fits). Run in parts of under two hours with --cells and --resume.
 */
export const fullGrid: CompletionSamplesGrid = {
  sizes: [
    { rows: 100, cols: 100, rank: 5, observed: [1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000], seeds: [0, 1, 2, 3, 4], methods: METHODS, caps: CAPS_100, tol: 0 },
    { ...mediumGrid.sizes[0]!, observed: [6000, 7500, 10000, 12500, 15000, 20000, 30000], seeds: [0, 1, 2, 3, 4] },
  ],
};

// Per-factor initial scale of the deep linear networks. 1e-3 for depth 2 and 3 as in Arora et al.;
// depth 4 from 1e-3 stays on the plateau at the origin past any cap here (100 x 100, 2,000
// observed: loss still 0.1 of its start after 5,000 steps), so it starts from 1e-2.
const DLN_INIT: Record<number, number> = { 2: 1e-3, 3: 1e-3, 4: 1e-2 };

interface CellRun {
  result: Pick<BaselineResult, 'predict' | 'iterations' | 'hitCap'>;
  stop: string;
}

function runMethod(method: Method, train: Csr, seed: number, caps: Caps, tol: number | undefined, hook: IterateHook): CellRun {
  if (method.startsWith('lin-RFM')) {
    const alpha = method.endsWith('1/4') ? 0.25 : method.endsWith('1/2') ? 0.5 : 1;
    const r = complete(train, { alpha, seed, maxSweeps: caps.linrfm, finalRidge: 'keep', ...(tol === undefined ? {} : { tol }) }, (info, probe) => hook(info.sweep + 1, probe.predict));
    // the hook stops a run only at its budget
    return { result: { predict: r.predict, iterations: r.sweeps, hitCap: r.stopReason === 'max-sweeps' }, stop: r.stopReason === 'callback' ? 'budget' : r.stopReason };
  }
  let r: BaselineResult;
  if (method.startsWith('IRLS')) r = completeIrls(train, { p: method.endsWith('p=1') ? 1 : 0, maxIters: caps.irls }, hook);
  else if (method.startsWith('DLN')) {
    const depth = Number(method.slice(-1));
    r = completeDln(train, { depth, initScale: DLN_INIT[depth]!, seed, maxIters: caps.dln }, undefined, hook);
  } else r = completeSoftImpute(train, { seed, maxIters: caps.softimpute }, hook);
  return { result: r, stop: r.stopReason };
}

export interface CellRecord {
  size: string;
  rank: number;
  observed: number;
  method: Method;
  seed: number;
  relError: number;
  iterations: number;
  seconds: number;
  /** The iteration cap or the wall-time budget ended the run. */
  hitCap: boolean;
  stop: string;
  /** (fit seconds, relative test error) during the run, its end included (trace.ts). */
  trace: Array<[number, number]>;
}

const COLORS: Record<Method, string> = {
  'lin-RFM alpha=1/4': '#1f77b4',
  'lin-RFM alpha=1/2': '#d62728',
  'lin-RFM alpha=1': '#2ca02c',
  'IRLS p=1': '#17becf',
  'IRLS p=0': '#ff7f0e',
  'DLN depth 2': '#9467bd',
  'DLN depth 3': '#8c564b',
  'DLN depth 4': '#e377c2',
  'soft-impute': '#7f7f7f',
};

/** Runs every (size, observed, seed, method) cell of the grid, writes the CSV and one SVG per size. */
export async function runCompletionSamples(
  grid: CompletionSamplesGrid,
  outDir: string,
  log: ExperimentOptions['log'],
  cells: CellStore<CellRecord> = CellStore.memory(),
): Promise<ExperimentOutput> {
  const t0 = performance.now();
  const records: CellRecord[] = [];
  for (const sz of grid.sizes) {
    const size = `${sz.rows}x${sz.cols}`;
    for (const observed of sz.observed) {
      for (const seed of sz.seeds) {
        const prob = generateLowRank({ rows: sz.rows, cols: sz.cols, rank: sz.rank, observed, seed });
        const { rows, cols } = unobservedPairs(prob.train);
        const truth = Float64Array.from(rows, (i, e) => prob.truth(i, cols[e]!));
        for (const method of sz.methods) {
          await runCell(cells, `${size} rank ${sz.rank} m=${observed} seed ${seed} ${method}`, records, log, () => {
            const trace = errorTrace(rows, cols, truth, sz.budgetSeconds ?? Infinity);
            const { result, stop } = runMethod(method, prob.train, seed, sz.caps, sz.tol, (t, predict) => trace.hook(t, predict));
            const relError = trace.finish(result.predict);
            return [{
              size, rank: sz.rank, observed, method, seed, relError,
              iterations: result.iterations, seconds: trace.seconds(), hitCap: result.hitCap || stop === 'budget', stop, trace: trace.points,
            }];
          });
        }
      }
    }
  }

  const header = 'size,rank,observed,method,seed,rel_error,iterations,seconds,hit_cap,stop';
  const lines = records.map((r) =>
    [r.size, r.rank, r.observed, r.method, r.seed, r.relError.toPrecision(6), r.iterations, r.seconds.toFixed(3), r.hitCap ? 1 : 0, r.stop].join(','));
  const csvPath = await writeCsv(join(outDir, 'completion-samples.csv'), header, lines);

  const svg: string[] = [];
  const medians: Record<string, Record<string, Record<string, number>>> = {};
  const capHits: Record<string, number> = {};
  for (const sz of grid.sizes) {
    const size = `${sz.rows}x${sz.cols}`;
    const series: Series[] = [];
    medians[size] = {};
    for (const method of sz.methods) {
      const cellsAt = (observed: number): CellRecord[] => records.filter((r) => r.size === size && r.method === method && r.observed === observed);
      for (const observed of sz.observed) {
        const hits = cellsAt(observed).filter((r) => r.hitCap).length;
        if (hits > 0) capHits[`${size} ${method} m=${observed}`] = hits;
      }
      // in thousands: the chart's tick labels print 10,000 and 12,500 alike (1e+4)
      const errorsAt = (observed: number): number[] => cellsAt(observed).map((r) => r.relError);
      const { points, band, medians: m } = medianCurve(sz.observed, errorsAt, { plotX: (x) => x / 1000 });
      medians[size]![method] = m;
      series.push({ label: method, points, band, color: COLORS[method], dashed: !method.startsWith('lin-RFM') });
    }
    const seeds = `seed${sz.seeds.length > 1 ? 's' : ''} ${sz.seeds.join(', ')}`;
    svg.push(await writeChart(join(outDir, `completion-samples-${size}.svg`), series, {
      title: `${sz.rows} x ${sz.cols}, rank ${sz.rank}: median and min-max over ${seeds}`,
      xLabel: 'observed entries (thousands)',
      yLabel: 'relative test error (unobserved entries)',
      logY: true,
      width: 820,
    }));
  }
  const traceCsv = await writeCsv(join(outDir, 'completion-samples-trace.csv'), 'size,rank,observed,method,seed,seconds,rel_error',
    records.flatMap((r) => (r.trace ?? []).map(([sec, err]) => [r.size, r.rank, r.observed, r.method, r.seed, sec.toPrecision(4), err.toPrecision(6)].join(','))));
  svg.push(...await traceCharts(grid, records, outDir));
  return experimentOutput(t0, [csvPath, traceCsv], svg, { medians, capHits }, records.length);
}

/**
 * Error against seconds, one figure per size and sample count, for the first seed: who gets where
 * first, and who goes lower.
 */
async function traceCharts(grid: CompletionSamplesGrid, records: CellRecord[], outDir: string): Promise<string[]> {
  const svg: string[] = [];
  for (const sz of grid.sizes) {
    const size = `${sz.rows}x${sz.cols}`;
    const seed = sz.seeds[0]!;
    for (const observed of sz.observed) {
      const series: Series[] = [];
      for (const method of sz.methods) {
        const r = records.find((x) => x.size === size && x.observed === observed && x.seed === seed && x.method === method);
        // a log axis: the first evaluation's time is above 0, but keep any 0 off it
        const points = (r?.trace ?? []).filter(([sec, err]) => sec > 0 && err > 0);
        if (points.length > 0) series.push({ label: method, points, color: COLORS[method], dashed: !method.startsWith('lin-RFM') });
      }
      const budget = sz.budgetSeconds === undefined ? 'iteration caps only' : `budget ${sz.budgetSeconds} s a fit`;
      svg.push(await writeChart(join(outDir, `completion-samples-${size}-m${observed}-time.svg`), series, {
        title: `${sz.rows} x ${sz.cols}, rank ${sz.rank}, ${observed} observed, seed ${seed}: error against seconds (${budget})`,
        xLabel: 'seconds of the fit',
        yLabel: 'relative test error (unobserved entries)',
        logX: true,
        logY: true,
        width: 820,
      }));
    }
  }
  return svg;
}

/** The grid with its seeds replaced (ExperimentOptions.seeds), for every size. */
export function withSeeds(grid: CompletionSamplesGrid, seeds: number[]): CompletionSamplesGrid {
  return { sizes: grid.sizes.map((s) => ({ ...s, seeds: [...seeds] })) };
}

export const completionSamples = defineExperiment({
  name: 'completion-samples',
  description:
    'relative test error against the number of observed entries (100 x 100 and 500 x 500, rank 5): '
    + 'lin-RFM (alpha 1/4, 1/2, 1), IRLS-p (p 1, 0), deep linear networks (depth 2, 3, 4), soft-impute',
  grids: { smoke: smokeGrid, quick: quickGrid, medium: mediumGrid, full: fullGrid },
  withSeeds,
  run: runCompletionSamples,
});

export const gridFor = completionSamples.gridFor;
