// `lin-rfm complete`: read the observed entries, plan the memory (in memory or spilled), complete on
// the pool, and write predictions, top-k, the full matrix, the model and report.json.

import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { Pairs, Triplets } from '../io/csv.ts';
import { writeModel } from '../io/model.ts';
import { centered, fitCenter, rowBiases, uncenter, type Center, type CenterKind } from './center.ts';
import { engineOptionsFrom, peakRssBytes, runSummary, sweepReporter, VERSION } from './commands.ts';
import { csrFromTriplets, type Csr } from './csr.ts';
import { fingerprint, isParquet, readObserved, readPairs, topKPerRow, writeFull, writeKeyedTable, writePredictions, type ColdStart } from './dataio.ts';
import { completeAsync, defaultEngineOptions, type CompletionResult } from './engine.ts';
import { jobControl, type JobControl } from './jobcontrol.ts';
import { estimateLoadMemory, estimateMemory, estimateSpilledMemory, type MemoryEstimate } from './memory.ts';
import { countParquetRows } from '../io/parquet.ts';
import { createProgress, type Progress } from './progress.ts';
import type { SpillOptions } from './spill.ts';

export async function cmdComplete(o: Record<string, unknown>, settings: Resolved): Promise<void> {
  const t0 = performance.now();
  const progress = createProgress({ quiet: o['quiet'] === true });
  const input = o['input'] as string;
  const outDir = resolve(o['output'] as string);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw Errors.Io(outDir, 'output exists and is not a directory');
  const budget = (o['memoryBudget'] as number | undefined) ?? Math.floor(0.8 * totalmem());
  await checkLoadFits(input, budget);
  progress.info(`reading ${input}`);
  const columns = { rowKey: o['rowKey'] as string, colKey: o['colKey'] as string, valueKey: o['valueKey'] as string };
  const tri = await readObserved(input, columns, (o['duplicates'] as 'error' | 'last' | 'mean' | undefined) ?? 'error', (rows, file, files) =>
    progress.status(`reading ${input}: ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`));
  const predictPath = o['predict'] as string | undefined;
  const pairs = predictPath !== undefined ? await readPairs(predictPath, tri.rowKeys, tri.colKeys) : null;
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
  const [nRows, nCols] = [m.nRows, m.nCols];
  progress.event('loaded', { file: input, rows: nRows, cols: nCols, observed: nnz });
  const workers = (o['workers'] as number | undefined) ?? availableParallelism();
  const plan = memoryPlan(o, outDir, nRows, nCols, nnz, workers, budget);
  const estimate = plan.estimate;
  progress.event('memory', { estimateBytes: estimate.bytes, budgetBytes: budget, spill: plan.spill !== undefined, chunkEntries: plan.spill?.chunkEntries ?? null });
  progress.info(`${nRows} rows x ${nCols} columns, ${nnz} observed${plan.spill ? `; spilling to ${plan.spill.dir} in chunks of up to ${plan.spill.chunkEntries} entries` : ''}`);
  const eo = engineOptionsFrom(o);
  mkdirSync(outDir, { recursive: true });
  const checkpointPath = resolve((o['checkpoint'] as string | undefined) ?? join(outDir, 'checkpoint.lrfm'));
  const job = jobControl({ path: checkpointPath, every: (o['checkpointEvery'] as number | undefined) ?? 10, resume: o['resume'] === true, input: m, engine: eo, progress });
  let result: CompletionResult;
  try {
    // a spilled run takes the only reference to the centred matrix and frees it once the chunks are written
    const source = { take: (): Csr => { const c = m!; m = null; return c; } };
    result = await completeAsync(source, { ...eo, workers: o['workers'] as number | undefined, spill: plan.spill }, sweepReporter(progress, eo.maxSweeps ?? defaultEngineOptions.maxSweeps), job.control);
  } finally {
    job.dispose(false);
  }
  try {
    await writeCompleteOutputs(o, settings, t0, { input, outDir, columns, tri, raw, center, rowBias, pairs, result, job, checkpointPath, progress, nnz, workers, estimate, budget });
  } finally {
    result.release();
  }
}

/**
 * Refuses, before reading anything, a Parquet input whose footers declare more rows than the load
 * can hold: the budget (exit 78), or 2^31 - 1 entries, the CSR's 32-bit offsets (exit 65).
 */
async function checkLoadFits(input: string, budget: number): Promise<void> {
  if (!isParquet(input)) return;
  const rows = await countParquetRows(input);
  if (rows === null) return;
  if (rows > 2 ** 31 - 1) {
    throw Errors.BadData(input, 'footer', `${rows} rows: more observed entries than this version loads (2^31 - 1; the load is in memory, only the sweeps spill)`);
  }
  const need = estimateLoadMemory(rows);
  if (need > budget) {
    throw Errors.Config('memory-budget', budget, `loading ${rows} rows needs about ${(need / 1e9).toFixed(2)} GB before any sweep (the load is in memory, only the sweeps spill), more than the budget of ${(budget / 1e9).toFixed(2)} GB`);
  }
}

/** The memory estimate of the run and, when it spills, where and in what chunks; refuses a job over budget (exit 78). */
function memoryPlan(
  o: Record<string, unknown>, outDir: string, nRows: number, nCols: number, nnz: number, workers: number, budget: number,
): { estimate: MemoryEstimate; spill?: SpillOptions } {
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
  const dir = resolve((o['workDir'] as string | undefined) ?? join(outDir, 'spill'));
  return { estimate: spilled, spill: { dir, chunkEntries } };
}

interface CompleteRun {
  input: string;
  outDir: string;
  columns: { rowKey: string; colKey: string; valueKey: string };
  tri: Triplets;
  raw: Csr;
  center: Center;
  rowBias: Float64Array;
  pairs: Pairs | null;
  result: CompletionResult;
  job: JobControl;
  checkpointPath: string;
  progress: Progress;
  nnz: number;
  workers: number;
  estimate: MemoryEstimate;
  budget: number;
}

/** complete's outputs: predictions, top-k, the full matrix, the model and report.json (then the checkpoint goes). */
async function writeCompleteOutputs(o: Record<string, unknown>, settings: Resolved, t0: number, r: CompleteRun): Promise<void> {
  const { input, outDir, columns, tri, raw, center, rowBias, pairs, result, job, checkpointPath, progress, nnz, workers, estimate, budget } = r;
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
    const top = topKPerRow(raw, topK, predictOut);
    await writeKeyedTable(path, tableFormat, columns, [
      Array.from(top.rows, (i) => tri.rowKeys.key(i)),
      Array.from(top.cols, (j) => tri.colKeys.key(j)),
    ], [{ name: 'score', values: top.scores }, { name: 'rank', values: top.ranks }]);
    outputs['topk'] = path;
  }
  if (o['full'] === true) outputs['full'] = await writeFull(outDir, tableFormat, raw, tri, columns, predictOut);
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
    input: { file: resolve(input), rows: raw.nRows, cols: raw.nCols, observed: nnz, fingerprint: fingerprint(input) },
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
