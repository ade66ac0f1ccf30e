// `lin-rfm complete`: read the observed entries, plan the memory (in memory or spilled), complete on
// the pool, and write predictions, top-k, the full matrix, the model and report.json.

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { Pairs, Triplets } from '../io/csv.ts';
import { writeModel } from '../io/model.ts';
import { ResumeMismatch } from '../engine/state.ts';
import { centered, fitCenter, rowBiases, uncenter, type Center, type CenterKind } from '../engine/center.ts';
import { engineOptionsFrom, peakRssBytes, runSummary, sweepReporter, VERSION } from './commands.ts';
import { csrFromTriplets, type Csr } from '../engine/csr.ts';
import { fingerprint, isParquet, observedOf, readObserved, readPairs, topKPerRow, topKPerRowByColumns, writeFull, writeKeyedTable, writePredictions, type ColdStart, type ObservedRows } from '../pipeline/dataio.ts';
import { completeAsync, defaultEngineOptions, type CompletionResult, type CsrSource, type EngineOptions } from '../pipeline/run.ts';
import { jobControl, type JobControl } from '../pipeline/jobcontrol.ts';
import { estimateLoadMemory, estimateMemory, estimateSpilledMemory, estimateStreamedMemory, type MemoryEstimate } from '../pipeline/memory.ts';
import { countParquetRows } from '../io/parquet.ts';
import { createProgress, type Progress } from './progress.ts';
import type { SpillOptions } from '../pipeline/spill.ts';
import { streamLoad, type PreparedBuckets, type StreamLoad } from '../pipeline/streamload.ts';
import { jobWorkDir } from '../pipeline/workdir.ts';

export async function cmdComplete(o: Record<string, unknown>, settings: Resolved): Promise<void> {
  const t0 = performance.now();
  const progress = createProgress({ quiet: o['quiet'] === true });
  const input = o['input'] as string;
  const outDir = resolve(o['output'] as string);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw Errors.Io(outDir, 'output exists and is not a directory');
  const budget = (o['memoryBudget'] as number | undefined) ?? Math.floor(0.8 * totalmem());
  const workers = (o['workers'] as number | undefined) ?? availableParallelism();
  const columns = { rowKey: o['rowKey'] as string, colKey: o['colKey'] as string, valueKey: o['valueKey'] as string };
  const eo = engineOptionsFrom(o);
  const checkpointPath = resolve((o['checkpoint'] as string | undefined) ?? join(outDir, 'checkpoint.lrfm'));
  // signals are caught from here to the end: the load stops at the next batch or bucket, the sweeps
  // after a checkpoint, and the outputs are finished
  const job = jobControl({ path: checkpointPath, every: (o['checkpointEvery'] as number | undefined) ?? 10, resume: o['resume'] === true, progress });
  try {
    await completeJob(o, settings, t0, { input, outDir, columns, eo, workers, budget, progress, job, checkpointPath });
  } finally {
    job.dispose(false);
  }
}

async function completeJob(
  o: Record<string, unknown>, settings: Resolved, t0: number,
  j: { input: string; outDir: string; columns: { rowKey: string; colKey: string; valueKey: string }; eo: Partial<EngineOptions>; workers: number; budget: number; progress: Progress; job: JobControl; checkpointPath: string },
): Promise<void> {
  const { input, outDir, columns, eo, workers, budget, progress, job, checkpointPath } = j;
  const checkInterrupt = (): void => {
    const signal = job.signal();
    if (signal !== null) throw Errors.Interrupted(signal, 'stopped while loading the input; nothing was written');
  };
  const loaded = (await loadMode(o, input, budget, workers)) === 'spilled'
    ? await loadSpilled(o, input, outDir, columns, eo, workers, budget, progress, checkInterrupt)
    : await loadInMemory(o, input, outDir, columns, workers, budget, progress);
  try {
    checkInterrupt();
    const predictPath = o['predict'] as string | undefined;
    const pairs = predictPath !== undefined ? await readPairs(predictPath, loaded.keys.rowKeys, loaded.keys.colKeys) : null;
    const { nRows, nCols, nnz, spill, estimate } = loaded;
    progress.event('memory', { estimateBytes: estimate.bytes, budgetBytes: budget, spill: spill !== undefined, chunkEntries: spill?.chunkEntries ?? null, load: loaded.mode });
    progress.info(`${nRows} rows x ${nCols} columns, ${nnz} observed${spill ? `; spilling to ${spill.dir} in chunks of up to ${spill.chunkEntries} entries` : ''}`);
    mkdirSync(outDir, { recursive: true });
    let result: CompletionResult;
    try {
      result = await completeAsync(loaded.take(), { ...eo, workers: o['workers'] as number | undefined, spill }, sweepReporter(progress, eo.maxSweeps ?? defaultEngineOptions.maxSweeps), job.control);
    } catch (err) {
      if (err instanceof ResumeMismatch) {
        throw Errors.Config('resume', checkpointPath, `the checkpoint belongs to other input data or engine options (checkpoint run ${err.savedRun}, this run ${err.thisRun}); remove it or rerun with the original input and options`);
      }
      throw err;
    }
    try {
      await writeCompleteOutputs(o, settings, t0, { input, outDir, columns, loaded, pairs, result, job, checkpointPath, progress, workers, budget });
    } finally {
      result.release();
    }
  } finally {
    loaded.dispose();
  }
}

/** The observed entries, loaded and centred, ready for the engine; and what the outputs need of them. */
interface Loaded {
  mode: 'memory' | 'spilled';
  keys: Pick<Triplets, 'rowKeys' | 'colKeys'>;
  nRows: number;
  nCols: number;
  nnz: number;
  center: Center;
  rowBias: Float64Array;
  /** The observed entries by row, for top-k and the full matrix; or by column (byColumn: observed.rows gives columns). */
  observed: ObservedRows;
  byColumn: boolean;
  estimate: MemoryEstimate;
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
async function loadMode(o: Record<string, unknown>, input: string, budget: number, workers: number): Promise<'memory' | 'spilled'> {
  const when = (o['spill'] as 'auto' | 'always' | 'never' | undefined) ?? 'auto';
  const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;
  // what a spilled load and run take whatever the data: the runtime, the load's buffers, the workers
  const least = estimateStreamedMemory(0, 0, 0, workers, (o['spillChunk'] as number | undefined) ?? 1_000_000).bytes;
  if (when === 'always') {
    if (least > budget) throw Errors.Config('memory-budget', budget, `a spilled load and run need at least ${gb(least)} (${workers} workers), more than the budget of ${gb(budget)}`);
    return 'spilled';
  }
  const parquet = isParquet(input);
  const rows = parquet ? await countParquetRows(input) : csvRowEstimate(input);
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
 * of a quarter for longer lines further on); exact for a file of 1 MiB or less. Null when it
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

async function loadInMemory(
  o: Record<string, unknown>, input: string, outDir: string, columns: { rowKey: string; colKey: string; valueKey: string },
  workers: number, budget: number, progress: Progress,
): Promise<Loaded> {
  progress.info(`reading ${input}`);
  const tri = await readObserved(input, columns, (o['duplicates'] as 'error' | 'last' | 'mean' | undefined) ?? 'error', (rows, file, files) =>
    progress.status(`reading ${input}: ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`));
  if (tri.nnz === 0) throw Errors.BadData(input, 'line 2', 'no observed entries');
  const nnz = tri.nnz;
  const raw = csrFromTriplets(tri.rowKeys.size, tri.colKeys.size, nnz, tri.rows, tri.cols, tri.values);
  // the CSR holds the entries from here on; the keys stay for the outputs
  tri.rows = new Int32Array(0);
  tri.cols = new Int32Array(0);
  tri.values = new Float64Array(0);
  const center = fitCenter(raw, ((o['center'] as CenterKind | undefined) ?? 'mean'));
  const rowBias = rowBiases(raw, center, new Float64Array(raw.nRows));
  let m: Csr | null = centered(raw, center, rowBias);
  progress.event('loaded', { file: input, rows: raw.nRows, cols: raw.nCols, observed: nnz, load: 'memory' });
  const plan = memoryPlan(o, outDir, raw.nRows, raw.nCols, nnz, workers, budget);
  return {
    mode: 'memory', keys: tri, nRows: raw.nRows, nCols: raw.nCols, nnz, center, rowBias,
    observed: observedOf(raw), byColumn: false, estimate: plan.estimate, spill: plan.spill,
    // a spilled run takes the only reference to the centred matrix and frees it once the chunks are written
    take: () => ({ take: (): Csr => { const c = m!; m = null; return c; } }),
    dispose: () => plan.close?.(),
  };
}

/** The spilled load (pipeline/streamload.ts), refused when even that is over the budget. */
async function loadSpilled(
  o: Record<string, unknown>, input: string, outDir: string, columns: { rowKey: string; colKey: string; valueKey: string },
  eo: Partial<EngineOptions>, workers: number, budget: number, progress: Progress, checkInterrupt: () => void,
): Promise<Loaded> {
  const work = jobWorkDir(resolve((o['workDir'] as string | undefined) ?? join(outDir, 'spill')));
  const dir = work.dir;
  const chunkEntries = (o['spillChunk'] as number | undefined) ?? 1_000_000;
  progress.info(`reading ${input} in two passes, grouping rows in ${dir}`);
  const pass = ['counting', 'grouping'];
  const refuse = (nRows: number, nCols: number, nnz: number): MemoryEstimate => {
    const estimate = estimateStreamedMemory(nRows, nCols, nnz, workers, chunkEntries);
    if (estimate.bytes > budget) {
      throw Errors.Config('memory-budget', budget, `the job needs an estimated ${(estimate.bytes / 1e9).toFixed(2)} GB even spilled in chunks of ${chunkEntries} entries (${nRows} x ${nCols}, ${nnz} observed, ${workers} workers), more than the budget of ${(budget / 1e9).toFixed(2)} GB`);
    }
    return estimate;
  };
  let load: StreamLoad;
  try {
    load = await streamLoad({
    input, columns, dir,
    duplicates: (o['duplicates'] as 'error' | 'last' | 'mean' | undefined) ?? 'error',
    center: (o['center'] as CenterKind | undefined) ?? 'mean',
    bucketEntries: chunkEntries,
    validationFraction: eo.validationFraction ?? defaultEngineOptions.validationFraction,
    seed: eo.seed ?? defaultEngineOptions.seed,
    onRows: (p, rows, file, files) => progress.status(`reading ${input} (${pass[p - 1]}): ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`),
    onStep: (step) => progress.status(`spilled load: ${step}`),
    onCounted: (nRows, nCols, entries) => void refuse(nRows, nCols, entries),
    checkInterrupt,
    keepRows: o['topK'] !== undefined || o['full'] === true,
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
    const estimate = refuse(nRows, nCols, nnz);
    return {
      mode: 'spilled', keys: load, nRows, nCols, nnz, center: load.center, rowBias: load.rowBias,
      observed: transposed ? { nRows: nCols, nCols: nRows, rows: load.observedRows } : { nRows, nCols, rows: load.observedRows },
      byColumn: transposed,
      estimate, spill: { dir, chunkEntries },
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

/** The memory estimate of the run and, when it spills, where and in what chunks; refuses a job over budget (exit 78). */
function memoryPlan(
  o: Record<string, unknown>, outDir: string, nRows: number, nCols: number, nnz: number, workers: number, budget: number,
): { estimate: MemoryEstimate; spill?: SpillOptions; close?: () => void } {
  const inMemory = estimateMemory(nRows, nCols, nnz, workers);
  const when = (o['spill'] as 'auto' | 'always' | 'never' | undefined) ?? 'auto';
  const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;
  const shape = `${nRows} x ${nCols}, ${nnz} observed, ${workers} workers`;
  if (when === 'never' || (when === 'auto' && inMemory.bytes <= budget)) {
    if (inMemory.bytes > budget) {
      throw Errors.Config('memory-budget', budget, `the job needs an estimated ${gb(inMemory.bytes)} (${shape}), more than the budget of ${gb(budget)}; --spill auto would stream it from disk`);
    }
    return { estimate: inMemory };
  }
  const chunkEntries = (o['spillChunk'] as number | undefined) ?? 1_000_000;
  const spilled = estimateSpilledMemory(nRows, nCols, nnz, workers, chunkEntries);
  if (spilled.bytes > budget) {
    throw Errors.Config('memory-budget', budget, `the job needs an estimated ${gb(inMemory.bytes)} in memory and ${gb(spilled.bytes)} spilled in chunks of ${chunkEntries} entries (${shape}), more than the budget of ${gb(budget)}`);
  }
  const work = jobWorkDir(resolve((o['workDir'] as string | undefined) ?? join(outDir, 'spill')));
  return { estimate: spilled, spill: { dir: work.dir, chunkEntries }, close: work.close };
}

interface CompleteRun {
  input: string;
  outDir: string;
  columns: { rowKey: string; colKey: string; valueKey: string };
  loaded: Loaded;
  pairs: Pairs | null;
  result: CompletionResult;
  job: JobControl;
  checkpointPath: string;
  progress: Progress;
  workers: number;
  budget: number;
}

/** complete's outputs: predictions, top-k, the full matrix, the model and report.json (then the checkpoint goes). */
async function writeCompleteOutputs(o: Record<string, unknown>, settings: Resolved, t0: number, r: CompleteRun): Promise<void> {
  const { input, outDir, columns, loaded, pairs, result, job, checkpointPath, progress, workers, budget } = r;
  const { keys: tri, center, rowBias, nnz, estimate } = loaded;
  progress.done();
  const signal = job.signal();
  if (result.stopReason === 'interrupted' && signal !== null) {
    throw Errors.Interrupted(signal, `stopped after sweep ${result.sweeps}, checkpoint written to ${checkpointPath}; run the same command with --resume to continue`);
  }
  progress.info(`${result.sweeps} sweeps, stop: ${result.stopReason}, validation RMSE ${result.bestValidationRmse.toExponential(3)}`);

  const outputs: Record<string, string> = {};
  let unseen = 0;
  if (pairs !== null) {
    const pred = uncenter(center, rowBias, pairs.rows, pairs.cols, result.predict(pairs.rows, pairs.cols));
    for (let e = 0; e < pairs.n; e++) if (pairs.rows[e]! < 0 || pairs.cols[e]! < 0) unseen++;
    const path = await writePredictions(outDir, o, o['predict'] as string, columns, pairs, pred, { policy: (o['coldStart'] as ColdStart['policy']) ?? 'nan', center, rowBias });
    outputs['predictions'] = path;
  }
  // predictions in the data's units, for the outputs that complete whole rows
  const predictOut = (r: Int32Array, c: Int32Array): Float64Array => uncenter(center, rowBias, r, c, result.predict(r, c));
  const tableFormat = (o['format'] as string | undefined) ?? (isParquet(input) ? 'parquet' : 'csv');
  const topK = o['topK'] as number | undefined;
  if (topK !== undefined) {
    const path = join(outDir, `topk.${tableFormat}`);
    const top = loaded.byColumn ? topKPerRowByColumns(loaded.observed, topK, predictOut) : topKPerRow(loaded.observed, topK, predictOut);
    await writeKeyedTable(path, tableFormat, columns, [
      Array.from(top.rows, (i) => tri.rowKeys.key(i)),
      Array.from(top.cols, (j) => tri.colKeys.key(j)),
    ], [{ name: 'score', values: top.scores }, { name: 'rank', values: top.ranks }]);
    outputs['topk'] = path;
  }
  if (o['full'] === true) outputs['full'] = await writeFull(outDir, tableFormat, loaded.observed, tri, columns, predictOut, loaded.byColumn);
  const modelDir = join(outDir, 'model');
  await writeModel(modelDir, {
    d: result.model.d,
    K: result.model.K,
    lambda: result.model.lambda,
    scale: result.model.scale,
    alpha: result.model.alpha,
    transposed: result.model.transposed,
    keys: result.model.transposed ? tri.rowKeys : tri.colKeys,
    center: { kind: center.kind, mean: center.mean, reg: center.reg, bias: result.model.transposed ? new Float64Array(0) : center.colBias },
  });
  outputs['model'] = modelDir;
  const report = {
    command: 'complete',
    version: VERSION,
    settings,
    input: { file: resolve(input), rows: loaded.nRows, cols: loaded.nCols, observed: nnz, load: loaded.mode, fingerprint: fingerprint(input) },
    predict: pairs ? { file: resolve(o['predict'] as string), pairs: pairs.n, unseenKeys: unseen } : null,
    ...runSummary(result),
    resumedAfterSweep: job.resumedAt,
    center: { kind: center.kind, mean: center.mean },
    workers,
    memory: { estimateBytes: estimate.bytes, budgetBytes: budget, parts: estimate.parts, spilledChunks: result.spilledChunks },
    totalSeconds: (performance.now() - t0) / 1000,
    peakRssBytes: peakRssBytes(),
    outputs,
  };
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  // the outputs supersede the checkpoint
  rmSync(checkpointPath, { force: true });
  if (o['quiet'] !== true) process.stdout.write(`wrote ${Object.values(outputs).concat(join(outDir, 'report.json')).join(', ')}\n`);
}
