// Loading a job's input: in memory (one read), or spilled (two reads through the work directory,
// pipeline/streamload.ts), chosen from the input's size against the memory budget; the run's memory
// plan; a job over its budget is refused with the figures.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { CompleteSettings } from '../config/settings.ts';
import type { Triplets } from '../io/entries.ts';
import { countParquetRows } from '../io/parquet.ts';
import { centered, csrEntries, fitCenter, rowBiases, type Center, type CenterKind } from '../engine/center.ts';
import { csrFromTriplets, type Csr } from '../engine/csr.ts';
import { defaultEngineOptions, type CsrSource, type EngineOptions } from '../engine/options.ts';
import { isParquet, observedOf, readObserved, type ObservedRows } from './inputs.ts';
import {
  chooseKernel, estimateLoadMemory, estimateLowRankMemory, estimateMemory, estimateSpilledMemory, estimateStreamedMemory, type KernelChoice, type LowRankSize, type MemoryEstimate,
} from './memory.ts';
import { findOutliers, type OutlierReport } from './outliers.ts';
import type { SpillOptions } from './spill.ts';
import { streamLoad, type PreparedBuckets, type StreamLoad } from './streamload.ts';
import { jobWorkDir, namedWorkDir } from './workdir.ts';

/** The settings a load reads. */
export type LoadSettings = Pick<CompleteSettings, 'spill' | 'spillChunk' | 'duplicates' | 'center' | 'outliers' | 'outlierLimit' | 'workDir' | 'topK' | 'full' | 'kernel' | 'kernelRank' | 'filter'>;

/** Where a load's messages go (the command line's progress output fits it). */
export interface LoadLog {
  info(message: string): void;
  status(message: string): void;
  event(name: string, fields: Record<string, unknown>): void;
}

/** The observed entries, loaded and centred, ready for the engine; and what the outputs need of them. */
export interface Loaded {
  mode: 'memory' | 'spilled';
  keys: Pick<Triplets, 'rowKeys' | 'colKeys'>;
  nRows: number;
  nCols: number;
  nnz: number;
  center: Center;
  rowBias: Float64Array;
  outliers: OutlierReport;
  /** Entries that repeated a (row, col) pair and were merged (--duplicates last or mean). */
  mergedDuplicates: number;
  /** The observed entries by row, for top-k and the full matrix; or by column (byColumn: observed.rows gives columns). */
  observed: ObservedRows;
  byColumn: boolean;
  estimate: MemoryEstimate;
  /** The kernel's form and rank the run takes (--kernel auto decides here, from the shape and the budget). */
  kernel: KernelChoice;
  spill?: SpillOptions;
  /** The engine's input; the engine holds the only reference after (a spilled run frees the matrix). */
  take(): CsrSource | PreparedBuckets;
  dispose(): void;
}

/**
 * How the input is loaded: in memory (one read), or spilled (two reads, grouped by row in the work
 * directory, see pipeline/streamload.ts). --spill always spills; otherwise a Parquet input's
 * footers (or a CSV file's size, at 6 bytes a line at least) bound its rows, and a load that could
 * outgrow the budget is spilled, or refused with --spill never.
 */
export async function loadMode(s: LoadSettings, input: string, budget: number, workers: number): Promise<'memory' | 'spilled'> {
  const when = s.spill;
  const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;
  // what a spilled load and run take whatever the data: the runtime, the load's buffers, the workers
  const least = estimateStreamedMemory(0, 0, 0, workers, s.spillChunk).bytes;
  if (when === 'always') {
    if (least > budget) throw Errors.Config('memory-budget', budget, `a spilled load and run need at least ${gb(least)} (${workers} workers), more than the budget of ${gb(budget)}`);
    return 'spilled';
  }
  const parquet = isParquet(input);
  const rows = parquet ? await countParquetRows(input, s.filter) : csvRowEstimate(input);
  if (rows === null) return 'memory';
  const tooMany = rows > 2 ** 31 - 1;
  const need = estimateLoadMemory(rows);
  if (!tooMany && need <= budget) return 'memory';
  const what = parquet ? `${rows} rows` : `about ${rows} rows (from the file size)`;
  if (when === 'never') {
    // a CSV's count is an estimate: load it and let the run's own estimate decide
    if (!parquet) return 'memory';
    if (tooMany) throw Errors.BadData(input, 'footer', `${rows} rows: more observed entries than a load in memory takes (2^31 - 1); --spill auto loads it through the work directory`);
    throw Errors.Config('memory-budget', budget, `loading ${what} in memory needs about ${gb(need)}, more than the budget of ${gb(budget)}; --spill auto would load it through the work directory`);
  }
  if (least > budget) {
    throw Errors.Config('memory-budget', budget, `loading ${what} needs about ${gb(need)} in memory and at least ${gb(least)} spilled through the work directory (${workers} workers), more than the budget of ${gb(budget)}`);
  }
  return 'spilled';
}

/**
 * About how many lines a CSV file has, from its size and the lines in its first MiB (with a margin
 * of a quarter for longer lines further on; a gzip file's from its decompressed head, taken as 4x
 * its size); exact for a plain file of 1 MiB or less. Null when it
 * cannot be read (the load then says what is wrong).
 */
function csvRowEstimate(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 1 << 20));
    const got = readSync(fd, head, 0, head.length, 0);
    if (got >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      // gzip: lines per decompressed byte of the head, the file taken as 4x its size decompressed (as io/csv-scanner.ts does)
      const text = gunzipSync(head.subarray(0, got), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      let zl = 0;
      for (let at = text.indexOf(10, 0); at >= 0; at = text.indexOf(10, at + 1)) zl++;
      return Math.ceil((1.25 * 4 * size * Math.max(1, zl)) / Math.max(1, text.length));
    }
    let lines = 0;
    for (let at = head.indexOf(10, 0); at >= 0 && at < got; at = head.indexOf(10, at + 1)) lines++;
    if (got >= size) return lines + 1;
    return Math.ceil((1.25 * size * Math.max(1, lines)) / got);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export async function loadInMemory(
  s: LoadSettings, input: string, outDir: string, columns: { rowKey: string; colKey: string; valueKey: string },
  workers: number, budget: number, progress: LoadLog,
): Promise<Loaded> {
  progress.info(`reading ${input}`);
  const tri = await readObserved(input, columns, s.duplicates, (rows, file, files) =>
    progress.status(`reading ${input}: ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`));
  if (tri.nnz === 0) throw Errors.BadData(input, 'line 2', 'no observed entries');
  const nnz = tri.nnz;
  const raw = csrFromTriplets(tri.rowKeys.size, tri.colKeys.size, nnz, tri.rows, tri.cols, tri.values);
  // the CSR holds the entries from here on; the keys stay for the outputs
  tri.rows = new Int32Array(0);
  tri.cols = new Int32Array(0);
  tri.values = new Float64Array(0);
  const { report: outliers, clip } = findOutliers(csrEntries(raw), nnz, s.outliers, s.outlierLimit, input, (i, j) => [tri.rowKeys.key(i), tri.colKeys.key(j)]);
  if (clip !== null) for (let p = 0; p < nnz; p++) raw.values[p] = clip(raw.values[p]!);
  const center = fitCenter(raw, centerFitted(s.center));
  const rowBias = rowBiases(raw, center, new Float64Array(raw.nRows));
  let m: Csr | null = centered(raw, center, rowBias);
  progress.event('loaded', { file: input, rows: raw.nRows, cols: raw.nCols, observed: nnz, load: 'memory' });
  const plan = memoryPlan(s, outDir, raw, workers, budget);
  resolveCenter(center, s.center, plan.kernel.form);
  progress.info(`kernel: ${plan.kernel.form}${plan.kernel.form === 'low-rank' ? ` of rank ${plan.kernel.rank}` : ''} (${plan.kernel.why})`);
  return {
    mode: 'memory', keys: tri, nRows: raw.nRows, nCols: raw.nCols, nnz, center, rowBias, outliers, mergedDuplicates: tri.merged,
    observed: observedOf(raw), byColumn: false, estimate: plan.estimate, kernel: plan.kernel, spill: plan.spill,
    // a spilled run takes the only reference to the centred matrix and frees it once the chunks are written
    take: () => ({ take: (): Csr => { const c = m!; m = null; return c; } }),
    dispose: () => plan.close?.(),
  };
}

/** The spilled load (pipeline/streamload.ts), refused when even that is over the budget. */
export async function loadSpilled(
  s: LoadSettings, input: string, outDir: string, columns: { rowKey: string; colKey: string; valueKey: string },
  eo: Pick<EngineOptions, 'validationFraction' | 'seed'>, workers: number, budget: number, progress: LoadLog, checkInterrupt: () => void,
  jobDir?: string,
): Promise<Loaded> {
  const work = jobDir !== undefined ? namedWorkDir(jobDir) : jobWorkDir(resolve(s.workDir ?? join(outDir, 'spill')));
  const dir = work.dir;
  const chunkEntries = s.spillChunk;
  progress.info(`reading ${input} in two passes, grouping rows in ${dir}`);
  const pass = ['counting', 'grouping'];
  // the kernel is chosen once the rows are counted: until then, the lesser of the forms it may be
  const refuse = (nRows: number, nCols: number, nnz: number, kernel: KernelChoice | null): MemoryEstimate => {
    const d = Math.min(nRows, nCols);
    const form = kernel?.form ?? s.kernel;
    const dense = estimateStreamedMemory(nRows, nCols, nnz, workers, chunkEntries);
    const lowRank = estimateStreamedMemory(nRows, nCols, nnz, workers, chunkEntries, lowRankSize(s, kernel?.rank ?? defaultEngineOptions.kernelRank, d));
    const estimate = form === 'dense' ? dense : form === 'low-rank' || lowRank.bytes < dense.bytes ? lowRank : dense;
    if (estimate.bytes > budget) {
      throw Errors.Config('memory-budget', budget, `the job needs an estimated ${(estimate.bytes / 1e9).toFixed(2)} GB even spilled in chunks of ${chunkEntries} entries (${nRows} x ${nCols}, ${nnz} observed, ${workers} workers, ${form === 'auto' ? 'either' : `the ${form}`} kernel), more than the budget of ${(budget / 1e9).toFixed(2)} GB`);
    }
    return estimate;
  };
  let load: StreamLoad;
  try {
    load = await streamLoad({
    input, columns, dir,
    duplicates: s.duplicates,
    center: centerFitted(s.center),
    outliers: s.outliers,
    outlierLimit: s.outlierLimit,
    bucketEntries: chunkEntries,
    validationFraction: eo.validationFraction,
    seed: eo.seed,
    onRows: (p, rows, file, files) => progress.status(`reading ${input} (${pass[p - 1]}): ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`),
    onStep: (step) => progress.status(`spilled load: ${step}`),
    onCounted: (nRows, nCols, entries) => void refuse(nRows, nCols, entries, null),
    checkInterrupt,
    keepRows: s.topK !== undefined || s.full,
  });
  } catch (err) {
    work.close();
    throw err;
  }
  try {
    const { nRows, nCols, nnz } = load;
    progress.event('loaded', { file: input, rows: nRows, cols: nCols, observed: nnz, load: 'spilled' });
    // an input with more columns than rows is grouped by column (the engine's rows are the larger side)
    const transposed = load.prepared.transposed;
    const denseFits = estimateStreamedMemory(nRows, nCols, nnz, workers, chunkEntries).bytes <= budget;
    const kernel = pickKernel(s, { n: Math.max(nRows, nCols), d: Math.min(nRows, nCols), observed: nnz, sumCubes: sumCubes(load.prepared.shape.trainLen) }, denseFits);
    progress.info(`kernel: ${kernel.form}${kernel.form === 'low-rank' ? ` of rank ${kernel.rank}` : ''} (${kernel.why})`);
    const estimate = refuse(nRows, nCols, nnz, kernel);
    resolveCenter(load.center, s.center, kernel.form);
    return {
      mode: 'spilled', keys: load, nRows, nCols, nnz, center: load.center, rowBias: load.rowBias, outliers: load.outliers, mergedDuplicates: load.merged,
      observed: transposed ? { nRows: nCols, nCols: nRows, rows: load.observedRows } : { nRows, nCols, rows: load.observedRows },
      byColumn: transposed,
      estimate, spill: { dir, chunkEntries }, kernel,
      take: () => load.prepared,
      dispose: () => {
        load.dispose();
        work.close();
      },
    };
  } catch (err) {
    load.dispose();
    work.close();
    throw err;
  }
}

/** Sum over the rows of the oriented matrix (the larger side's) of their entries cubed: the dense row solves' work. */
function sumRowCubes(raw: Csr): number {
  const counts = new Float64Array(raw.nRows >= raw.nCols ? raw.nRows : raw.nCols);
  if (raw.nRows >= raw.nCols) for (let i = 0; i < raw.nRows; i++) counts[i] = raw.rowPtr[i + 1]! - raw.rowPtr[i]!;
  else for (let p = 0; p < raw.colIdx.length; p++) counts[raw.colIdx[p]!]!++;
  return sumCubes(counts);
}

function sumCubes(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i]! ** 3;
  return s;
}

/**
 * The kernel's form, the memory estimate of the run and, when it spills, where and in what chunks;
 * refuses a job over budget (exit 78). Either form spills with --spill always, or with --spill auto
 * when it does not fit in memory.
 */
function memoryPlan(
  s: LoadSettings, outDir: string, raw: Csr, workers: number, budget: number,
): { estimate: MemoryEstimate; kernel: KernelChoice; spill?: SpillOptions; close?: () => void } {
  const { nRows, nCols } = raw;
  const nnz = raw.values.length;
  const inMemory = estimateMemory(nRows, nCols, nnz, workers);
  const when = s.spill;
  const chunkEntries = s.spillChunk;
  const spilled = estimateSpilledMemory(nRows, nCols, nnz, workers, chunkEntries);
  const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;
  const shape = `${nRows} x ${nCols}, ${nnz} observed, ${workers} workers`;
  const denseFits = when === 'always' ? spilled.bytes <= budget : inMemory.bytes <= budget || (when !== 'never' && spilled.bytes <= budget);
  const kernel = pickKernel(s, { n: Math.max(nRows, nCols), d: Math.min(nRows, nCols), observed: nnz, sumCubes: sumRowCubes(raw) }, denseFits);
  // the chosen form's estimates, in memory and spilled; the same rules for both forms
  const size = kernel.form === 'low-rank' ? lowRankSize(s, kernel.rank, Math.min(nRows, nCols)) : undefined;
  // the low-rank form fits the side biases with --center side-bias or auto
  const memory = size === undefined ? inMemory : estimateLowRankMemory(nRows, nCols, nnz, workers, size.k, size.p, s.center === 'side-bias' || s.center === 'auto');
  const streamed = size === undefined ? spilled : estimateSpilledMemory(nRows, nCols, nnz, workers, chunkEntries, size);
  const what = size === undefined ? '' : ` with a low-rank kernel of rank ${size.k}`;
  if (when === 'never' || (when === 'auto' && memory.bytes <= budget)) {
    if (memory.bytes > budget) {
      throw Errors.Config('memory-budget', budget, `the job needs an estimated ${gb(memory.bytes)}${what} (${shape}), more than the budget of ${gb(budget)}; --spill auto would stream it from disk`);
    }
    return { estimate: memory, kernel };
  }
  if (streamed.bytes > budget) {
    throw Errors.Config('memory-budget', budget, `the job needs an estimated ${gb(memory.bytes)} in memory and ${gb(streamed.bytes)} spilled in chunks of ${chunkEntries} entries${what} (${shape}), more than the budget of ${gb(budget)}`);
  }
  const work = jobWorkDir(resolve(s.workDir ?? join(outDir, 'spill')));
  return { estimate: streamed, kernel, spill: { dir: work.dir, chunkEntries }, close: work.close };
}

/** What the load fits of --center: auto and side-bias subtract the mean (the side biases are the engine's). */
function centerFitted(asked: CenterKind | 'auto'): CenterKind {
  return asked === 'auto' ? 'mean' : asked;
}

/**
 * --center auto, once the kernel's form is known: the side biases with the low-rank kernel (which
 * fits them along with its sweeps, engine/side-bias.ts), the mean alone with the dense one. Both
 * subtract the mean alone here, so only the kind changes.
 */
function resolveCenter(center: Center, asked: CenterKind | 'auto', form: 'dense' | 'low-rank'): void {
  if (asked === 'auto') center.kind = form === 'low-rank' ? 'side-bias' : 'mean';
}

/** --kernel and --kernel-rank taken for a job of this shape (chooseKernel). */
function pickKernel(s: LoadSettings, shape: { n: number; d: number; observed: number; sumCubes: number }, denseFits: boolean): KernelChoice {
  const { kernelOversample, kernelPowerSteps } = defaultEngineOptions;
  const rank = s.kernelRank === 'auto' ? defaultEngineOptions.kernelRank : s.kernelRank;
  if (s.center === 'side-bias') {
    // the side biases are fitted by the low-rank form's sweeps (engine/side-bias.ts)
    if (s.kernel === 'dense') throw Errors.Config('kernel', 'dense', '--center side-bias fits its biases with the low-rank kernel: use --kernel auto or low-rank, or another --center');
    if (s.kernel === 'auto') return { form: 'low-rank', rank: Math.min(rank, shape.d), why: '--center side-bias (its biases are fitted with the low-rank kernel)' };
  }
  return chooseKernel(s.kernel, rank, kernelOversample, kernelPowerSteps, shape, denseFits);
}

/** The rank and block width a low-rank run's memory is estimated at: an automatic rank may grow to twice its start (engine/rank.ts). */
function lowRankSize(s: LoadSettings, rank: number, d: number): LowRankSize {
  const k = Math.min(d, s.kernelRank === 'auto' ? 2 * rank : rank);
  return { k, p: Math.min(d, k + defaultEngineOptions.kernelOversample) };
}
