// Experiment ratings: noisy, biased, power-law ratings on a 1-5 scale (engine/ratings.ts, rounded as
// `generate --profile ratings` rounds them), where recommender users live: test RMSE and NDCG@10 of
// the global mean, user + item biases, biased ALS (ridge picked on a validation share), soft-impute
// on the bias residuals (its path's end picked the same way) and lin-RFM with default settings and
// tuned (centering and ridge picked on lin-RFM's own validation split).

import { join } from 'node:path';
import { completeAsync } from '../../pipeline/index.ts';
import {
  centered, fitBiasedAls, fitCenter, generateRatings, offset, itemsByRow, predictAls, prepareData, rankingMetrics, rowBiases, type Csr,
} from '../../engine/index.ts';
import { completeSoftImpute } from '../baselines/softimpute.ts';
import type { Series } from '../svg.ts';
import { CellStore } from './cells.ts';
import { defineExperiment, experimentOutput, median, runCell as runGridCell, writeChart, writeCsv } from './common.ts';
import type { ExperimentOptions, ExperimentOutput } from './types.ts';

export interface RatingsSize {
  rows: number;
  cols: number;
  observed: number;
  rank: number;
  seeds: number[];
  /** soft-impute keeps a dense n x d iterate: run it only where that is cheap. */
  softImpute: boolean;
}

export interface RatingsGrid {
  sizes: RatingsSize[];
  /** Noise std of the generator before rounding (signal and biases about 1). */
  noise: number;
  alsRidges: number[];
  alsIterations: number;
  /** soft-impute's path ends at this share of lambda_max: one run each, picked on validation. */
  softImputeRatios: number[];
  /** soft-impute's iterations over its whole path, at most. */
  softImputeIters: number;
  /** lin-RFM tuned: each of these settings a run, the one with the lowest validation RMSE kept. */
  tuned: { center: 'mean' | 'bias'; lambda: number }[];
  maxSweeps: number;
}

export const METHODS = ['mean', 'biases', 'als', 'softimpute', 'linrfm', 'linrfm-tuned'] as const;
type Method = (typeof METHODS)[number];

const TUNED: RatingsGrid['tuned'] = [{ center: 'mean', lambda: 0.05 }, { center: 'bias', lambda: 0.05 }, { center: 'mean', lambda: 0.2 }];

export const smokeGrid: RatingsGrid = {
  sizes: [{ rows: 300, cols: 60, observed: 4000, rank: 3, seeds: [0], softImpute: true }],
  noise: 1, alsRidges: [0.05], alsIterations: 3, softImputeRatios: [0.1], softImputeIters: 20, tuned: [TUNED[0]!], maxSweeps: 8,
};

/** quick: two sizes, 3 seeds, about 10 minutes on 2 cores. */
export const quickGrid: RatingsGrid = {
  sizes: [
    { rows: 3000, cols: 600, observed: 60_000, rank: 5, seeds: [0, 1, 2], softImpute: true },
    { rows: 10_000, cols: 1500, observed: 250_000, rank: 10, seeds: [0, 1, 2], softImpute: false },
  ],
  noise: 1, alsRidges: [0.01, 0.03, 0.1, 0.3], alsIterations: 10, softImputeRatios: [0.3, 0.1, 0.03], softImputeIters: 100, tuned: TUNED, maxSweeps: 200,
};

export const fullGrid: RatingsGrid = {
  ...quickGrid,
  sizes: [...quickGrid.sizes, { rows: 50_000, cols: 5000, observed: 2_000_000, rank: 10, seeds: [0, 1, 2], softImpute: false }],
};

interface RatingsRecord {
  size: string;
  seed: number;
  method: Method;
  testRmse: number;
  ndcg10: number;
  seconds: number;
  /** The setting validation picked (ALS ridge, soft-impute ratio, lin-RFM setting; no commas), or ''. */
  picked: string;
}

const star = (v: number): number => Math.min(5, Math.max(1, Math.round(v)));
const rmse = (a: Float64Array, b: Float64Array): number => Math.sqrt(a.reduce((s, x, e) => s + (x - b[e]!) ** 2, 0) / a.length);

/** NDCG@10 over the users with a test rating of 4 or more, every item not in a user's training ratings a candidate. */
function ndcgAt10(train: Csr, test: Test, score: Scores): number {
  const relevant = itemsByRow(test.rows, test.cols, (e) => test.values[e]! >= 4);
  const users = Int32Array.from([...relevant.keys()].sort((a, b) => a - b));
  const d = train.nCols;
  const lists = new Map<number, number[]>();
  const CHUNK = 200;
  for (let c0 = 0; c0 < users.length; c0 += CHUNK) {
    const chunk = users.subarray(c0, Math.min(users.length, c0 + CHUNK));
    const rows = new Int32Array(chunk.length * d);
    const cols = new Int32Array(chunk.length * d);
    chunk.forEach((i, q) => {
      rows.fill(i, q * d, (q + 1) * d);
      for (let j = 0; j < d; j++) cols[q * d + j] = j;
    });
    const s = score(rows, cols);
    chunk.forEach((i, q) => {
      const seen = new Set(train.colIdx.subarray(train.rowPtr[i]!, train.rowPtr[i + 1]!));
      const cand: number[] = [];
      for (let j = 0; j < d; j++) if (!seen.has(j)) cand.push(j);
      cand.sort((a, b) => s[q * d + b]! - s[q * d + a]! || a - b);
      lists.set(i, cand.slice(0, 10));
    });
  }
  return rankingMetrics(lists, relevant, 10, d).ndcg;
}

type Scores = (rows: Int32Array, cols: Int32Array) => Float64Array;
type Test = { rows: Int32Array; cols: Int32Array; values: Float64Array };

/** soft-impute on the bias residual, its path's end picked on the validation share. */
async function softImputeCell(
  grid: RatingsGrid, seed: number, fit: Csr, prep: { valRow: Int32Array; valCol: Int32Array }, valTruth: Float64Array, test: Test,
  record: (method: Method, t0: number, pred: Float64Array, score: Scores, picked?: string) => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  const fc = fitCenter(fit, 'bias');
  const fRow = rowBiases(fit, fc, new Float64Array(fit.nRows));
  const residual = centered(fit, fc, fRow);
  const si = grid.softImputeRatios.map((ratio) => {
    // a randomized subspace SVD: the Gram form costs d^2 n an iteration, minutes at 10,000 x 1,500
    const r = completeSoftImpute(residual, { lambdaMinRatio: ratio, nLambda: 5, maxIters: grid.softImputeIters, svd: 'subspace', seed });
    const back = (rows: Int32Array, cols: Int32Array): Float64Array => r.predict(rows, cols).map((v, e) => v + offset(fc, fRow, rows[e]!, cols[e]!));
    return { ratio, back, val: rmse(back(prep.valRow, prep.valCol), valTruth) };
  }).reduce((a, b) => (b.val < a.val ? b : a));
  await record('softimpute', t0, si.back(test.rows, test.cols), si.back, `lambda ${si.ratio} x max`);
}

/** Every method on one problem; `record` scores each (its test predictions and its scores for top-k). */
async function runCell(grid: RatingsGrid, sz: RatingsSize, seed: number, train: Csr, test: Test, record: (method: Method, t0: number, pred: Float64Array, score: Scores, picked?: string) => Promise<void>): Promise<void> {
  const { rows: tr, cols: tc } = test;
  // the baselines' validation share, drawn as the engine draws its own
  const prep = prepareData(train, 0.05, seed);
  const fit: Csr = { ...prep.train, values: prep.train.values.map((v) => v * prep.scale) };
  const valTruth = prep.valValue.map((v) => v * prep.scale);

  let t0 = performance.now();
  const mean = fitCenter(train, 'mean').mean;
  const meanScore = (r: Int32Array): Float64Array => new Float64Array(r.length).fill(mean);
  await record('mean', t0, meanScore(tr), meanScore);

  t0 = performance.now();
  const bc = fitCenter(train, 'bias');
  const bRow = rowBiases(train, bc, new Float64Array(train.nRows));
  const biasScore = (r: Int32Array, c: Int32Array): Float64Array => Float64Array.from(r, (i, e) => offset(bc, bRow, i, c[e]!));
  await record('biases', t0, biasScore(tr, tc), biasScore);

  t0 = performance.now();
  const als = grid.alsRidges.map((lambda) => {
    const model = fitBiasedAls(fit, { rank: sz.rank, lambda, iterations: grid.alsIterations, seed });
    return { lambda, model, val: rmse(predictAls(model, prep.valRow, prep.valCol), valTruth) };
  }).reduce((a, b) => (b.val < a.val ? b : a));
  const alsScore = (r: Int32Array, c: Int32Array): Float64Array => predictAls(als.model, r, c);
  await record('als', t0, alsScore(tr, tc), alsScore, `ridge ${als.lambda}`);

  // soft-impute on the residual of the biases fitted to the same share (where its dense iterate is cheap)
  if (sz.softImpute) await softImputeCell(grid, seed, fit, prep, valTruth, test, record);

  // lin-RFM as the command line runs it: centred, low-rank kernel of automatic rank, its own validation split
  const linrfm = async (center: 'mean' | 'bias', lambda: number) => {
    const c = fitCenter(train, center);
    const rb = rowBiases(train, c, new Float64Array(train.nRows));
    const result = await completeAsync(centered(train, c, rb), { seed, lambda, kernel: 'low-rank', kernelRank: 20, kernelRankAuto: true, maxSweeps: grid.maxSweeps, workers: 2, finalRidge: 'keep' });
    const score = (r: Int32Array, cols: Int32Array): Float64Array => result.predict(r, cols).map((v, e) => v + offset(c, rb, r[e]!, cols[e]!));
    return { score, val: result.bestValidationRmse, setting: `center ${center}; lambda ${lambda}; rank ${result.model.lowRank?.k ?? 'dense'}` };
  };
  t0 = performance.now();
  const plain = await linrfm('mean', 0.05);
  await record('linrfm', t0, plain.score(tr, tc), plain.score, plain.setting);
  t0 = performance.now();
  let best = plain;
  for (const s of grid.tuned) {
    const r = s.center === 'mean' && s.lambda === 0.05 ? plain : await linrfm(s.center, s.lambda);
    if (r.val < best.val) best = r;
  }
  await record('linrfm-tuned', t0, best.score(tr, tc), best.score, best.setting);
}

export async function runRatings(
  grid: RatingsGrid, outDir: string, log: ExperimentOptions['log'], cells: CellStore<RatingsRecord> = CellStore.memory(),
): Promise<ExperimentOutput> {
  const t0 = performance.now();
  const records: RatingsRecord[] = [];
  for (const sz of grid.sizes) {
    const size = `${sz.rows}x${sz.cols}`;
    for (const seed of sz.seeds) {
      // a cell is one (size, seed): its data and every method on it
      await runGridCell(cells, `${size} seed ${seed}`, records, log, async () => {
        const p = generateRatings({ rows: sz.rows, cols: sz.cols, observed: sz.observed, rank: sz.rank, noise: grid.noise, seed });
        const train: Csr = { ...p.train, values: p.train.values.map(star) };
        const test = { ...p.test, values: p.test.values.map(star) };
        const got: RatingsRecord[] = [];
        await runCell(grid, sz, seed, train, test, async (method, ts, pred, score, picked = '') => {
          const seconds = (performance.now() - ts) / 1000;
          const rec: RatingsRecord = { size, seed, method, testRmse: rmse(pred, test.values), ndcg10: ndcgAt10(train, test, score), seconds, picked };
          got.push(rec);
          log('method', { ...rec });
          await new Promise((resolve) => setImmediate(resolve));
        });
        return got;
      });
    }
  }
  const csv = await writeCsv(join(outDir, 'ratings.csv'), 'size,seed,method,test_rmse,ndcg10,seconds,picked',
    records.map((r) => [r.size, r.seed, r.method, r.testRmse, r.ndcg10, r.seconds.toFixed(2), r.picked].join(',')));
  const COLORS = ['#888888', '#1f77b4', '#2ca02c', '#9467bd', '#d62728', '#ff7f0e'];
  const sizes = grid.sizes.map((s) => `${s.rows}x${s.cols}`);
  const summary: Record<string, Record<string, Record<string, number>>> = { testRmse: {}, ndcg10: {} };
  const svg: string[] = [];
  for (const [key, file, title] of [['testRmse', 'ratings-rmse.svg', 'test RMSE'], ['ndcg10', 'ratings-ndcg.svg', 'NDCG@10 (test ratings >= 4 relevant)']] as const) {
    const series: Series[] = METHODS.map((m, k) => {
      const med = sizes.map((s) => median(records.filter((r) => r.size === s && r.method === m).map((r) => r[key])));
      summary[key]![m] = Object.fromEntries(sizes.map((s, q) => [s, med[q]!]));
      return { label: m, points: med.map((y, q): [number, number] => [q + 1, y]), color: COLORS[k]!, dashed: m === 'linrfm' };
    });
    svg.push(await writeChart(join(outDir, file), series, { title: `ratings (1-5, noise ${grid.noise}): ${title}, median over seeds; x = size ${sizes.map((s, q) => `${q + 1}: ${s}`).join(', ')}`, xLabel: 'size', yLabel: title }));
  }
  return experimentOutput(t0, csv, svg, summary, records.length);
}

export const ratingsExperiment = defineExperiment({
  name: 'ratings',
  description: 'noisy, biased, power-law ratings on a 1-5 scale: test RMSE and NDCG@10 of the mean, biases, biased ALS, soft-impute and lin-RFM (defaults and tuned on validation)',
  grids: { smoke: smokeGrid, quick: quickGrid, full: fullGrid },
  withSeeds: (grid: RatingsGrid, seeds) => ({ ...grid, sizes: grid.sizes.map((s) => ({ ...s, seeds: [...seeds] })) }),
  run: runRatings,
});
