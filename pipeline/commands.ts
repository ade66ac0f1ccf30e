// The job commands' work: demo, generate, complete, predict (the command line itself is cli.ts).

import { mkdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { writeCsvAtomic } from '../io/csv.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readModel, writeModel } from '../io/model.ts';
import { Rng } from '../kernels/random.ts';
import { centered, fitCenter, rowBiases, uncenter, type Center, type CenterKind } from './center.ts';
import { csrFromTriplets, nnzOf, type Csr } from './csr.ts';
import type { Pairs, Triplets } from '../io/csv.ts';
import type { SpillOptions } from './spill.ts';
import { fingerprint, isParquet, readObserved, readPairs, topKPerRow, writeFull, writeKeyedTable, writePredictions, type ColdStart } from './dataio.ts';
import { predictWithModel } from './predict.ts';
import { completeAsync, defaultEngineOptions, type CompletionResult, type EngineOptions, type SweepCallback } from './engine.ts';
import { jobControl, type JobControl } from './jobcontrol.ts';
import { estimateMemory, estimateSpilledMemory, type MemoryEstimate } from './memory.ts';
import { createProgress, type Progress } from './progress.ts';
import { generateLowRank, sampleDistinct, unobservedPairs, type SyntheticProblem } from './synthetic.ts';

export const VERSION = '0.1.0';

function engineOptionsFrom(o: Record<string, unknown>): Partial<EngineOptions> {
  const map: [string, keyof EngineOptions][] = [
    ['alpha', 'alpha'],
    ['lambda', 'lambda'],
    ['lambdaSchedule', 'lambdaSchedule'],
    ['lambdaFactor', 'lambdaFactor'],
    ['maxSweeps', 'maxSweeps'],
    ['momentum', 'momentum'],
    ['patience', 'patience'],
    ['tol', 'tol'],
    ['validation', 'validationFraction'],
    ['agop', 'agop'],
    ['root', 'root'],
    ['seed', 'seed'],
  ];
  const out: Record<string, unknown> = {};
  for (const [flag, key] of map) if (o[flag] !== undefined) out[key] = o[flag];
  const eo = out as Partial<EngineOptions>;
  if (eo.lambda !== undefined && eo.lambda < defaultEngineOptions.lambdaFloor) eo.lambdaFloor = eo.lambda;
  return eo;
}

function sweepReporter(progress: Progress, maxSweeps: number): SweepCallback {
  return (info) => {
    const rmse = Number.isFinite(info.validationRmse) ? info.validationRmse.toExponential(3) : 'n/a';
    progress.status(
      `sweep ${info.sweep + 1}/${maxSweeps}  validation RMSE ${rmse}  lambda ${info.lambda.toExponential(2)}  ${(info.seconds * 1000).toFixed(0)} ms`,
    );
    progress.event('sweep', {
      sweep: info.sweep,
      validationRmse: info.validationRmse,
      lambda: info.lambda,
      agop: info.agop,
      cholFallbacks: info.cholFallbacks,
    });
  };
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function runSummary(r: CompletionResult): Record<string, unknown> {
  return {
    options: r.options,
    sweeps: r.sweeps,
    stopReason: r.stopReason,
    bestSweep: r.bestSweep,
    bestValidationRmse: r.bestValidationRmse,
    lambda: r.model.lambda * r.model.scale * r.model.scale,
    kernelSide: r.model.d,
    transposed: r.model.transposed,
    nTrain: r.nTrain,
    nValidation: r.nValidation,
    seconds: r.seconds,
    history: r.history.map((h) => ({
      sweep: h.sweep,
      validationRmse: h.validationRmse,
      lambda: h.lambda,
      seconds: h.seconds,
      agop: h.agop,
      cholFallbacks: h.cholFallbacks,
      restarts: h.restarts,
    })),
  };
}

/** Relative Frobenius error over the unobserved entries of a synthetic problem. */
export function unobservedError(p: SyntheticProblem, predict: (rows: Int32Array, cols: Int32Array) => Float64Array): { relError: number; mse: number; count: number } {
  const { rows, cols } = unobservedPairs(p.train);
  const pred = predict(rows, cols);
  let num = 0;
  let den = 0;
  for (let e = 0; e < rows.length; e++) {
    const y = p.truth(rows[e]!, cols[e]!);
    num += (pred[e]! - y) ** 2;
    den += y * y;
  }
  return { relError: Math.sqrt(num / den), mse: num / rows.length, count: rows.length };
}

export async function cmdDemo(o: Record<string, unknown>, settings: Resolved): Promise<void> {
  const progress = createProgress({ quiet: o['quiet'] === true });
  // the built-in default problem's size comes from the settings table (config/keys.ts)
  const spec = { rows: o['rows'] as number, cols: o['cols'] as number, rank: o['rank'] as number, observed: o['observed'] as number, seed: o['dataSeed'] as number };
  checkObserved(spec);
  const outDir = resolve(o['output'] as string);
  progress.info(`lin-rfm demo: ${spec.rows} x ${spec.cols}, rank ${spec.rank}, ${spec.observed} observed (seed ${spec.seed})`);
  const problem = generateLowRank(spec);
  const eo = engineOptionsFrom(o);
  const maxSweeps = eo.maxSweeps ?? defaultEngineOptions.maxSweeps;
  const result = await completeAsync(problem.train, { ...eo, workers: o['workers'] as number | undefined }, sweepReporter(progress, maxSweeps));
  progress.done();
  const err = unobservedError(problem, (r, c) => result.predict(r, c));
  const summary = {
    command: 'demo',
    version: VERSION,
    settings,
    problem: spec,
    ...runSummary(result),
    workers: (o['workers'] as number | undefined) ?? availableParallelism(),
    test: { relativeError: err.relError, mse: err.mse, entries: err.count },
    peakRssBytes: peakRssBytes(),
  };
  mkdirSync(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(summary, null, 2) + '\n');
  const lines = [
    `sweeps          ${result.sweeps} (best ${result.bestSweep + 1}), stop: ${result.stopReason}`,
    `validation RMSE ${result.bestValidationRmse.toExponential(3)} on ${result.nValidation} held-out entries`,
    `test rel. error ${err.relError.toExponential(3)} on ${err.count} unobserved entries (truth used for reporting only)`,
    `seconds         ${result.seconds.toFixed(2)}`,
    `report          ${join(outDir, 'report.json')}`,
  ];
  if (o['quiet'] !== true) process.stdout.write(lines.join('\n') + '\n');
}

function checkObserved(spec: { rows: number; cols: number; observed: number }): void {
  if (spec.observed > spec.rows * spec.cols) {
    throw Errors.Usage(`--observed: ${spec.observed} is more than the ${spec.rows * spec.cols} entries of a ${spec.rows} x ${spec.cols} matrix`);
  }
}

export async function cmdGenerate(o: Record<string, unknown>): Promise<void> {
  const spec = {
    rows: o['rows'] as number,
    cols: o['cols'] as number,
    rank: o['rank'] as number,
    observed: o['observed'] as number,
    seed: (o['seed'] as number | undefined) ?? 0,
    noise: (o['noise'] as number | undefined) ?? 0,
  };
  checkObserved(spec);
  const p = generateLowRank(spec);
  const t = p.train;
  await writeCsvAtomic(o['out'] as string, ['row', 'col', 'value'], (function* () {
    for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) yield [i, t.colIdx[q]!, t.values[q]!];
  })());
  if (o['truth'] !== undefined) {
    const unobserved = spec.rows * spec.cols - spec.observed;
    const want = Math.min(unobserved, (o['truthCount'] as number | undefined) ?? 100_000);
    // Held-out pairs: a seeded uniform sample of the unobserved entries, in row-major order.
    const rng = new Rng(spec.seed ^ 0x7e57);
    const picks = sampleDistinct(unobserved, want, rng);
    // Flat indices of the observed entries, ascending (CSR is row-major sorted).
    const nnz = nnzOf(t);
    const obsFlat = new Float64Array(nnz);
    for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) obsFlat[q] = i * spec.cols + t.colIdx[q]!;
    await writeCsvAtomic(o['truth'] as string, ['row', 'col', 'value'], (function* () {
      // The k-th unobserved entry sits at flat index k + (number of observed entries before it).
      let q = 0;
      for (let s = 0; s < picks.length; s++) {
        const k = picks[s]!;
        while (q < nnz && obsFlat[q]! <= k + q) q++;
        const f = k + q;
        const i = Math.floor(f / spec.cols);
        const j = f - i * spec.cols;
        yield [i, j, p.truth(i, j)];
      }
    })());
  }
}

export async function cmdPredict(o: Record<string, unknown>, settings: Resolved): Promise<void> {
  const t0 = performance.now();
  const progress = createProgress({ quiet: o['quiet'] === true });
  const modelDir = o['model'] as string;
  const model = readModel(modelDir);
  if (model.transposed) {
    throw Errors.Usage(`${modelDir}: this model's kernel is on the training input's rows (it had more columns than rows); fold-in of new rows needs a kernel on the columns`);
  }
  const outDir = resolve(o['output'] as string);
  const input = o['input'] as string;
  const columns = { rowKey: o['rowKey'] as string, colKey: o['colKey'] as string, valueKey: o['valueKey'] as string };
  const tri = await readObserved(input, columns, (o['duplicates'] as 'error' | 'last' | 'mean' | undefined) ?? 'error', (rows, file, files) =>
    progress.status(`reading ${input}: ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`));
  const predictPath = o['predict'] as string;
  const pairs = await readPairs(predictPath, tri.rowKeys, model.keys);
  // Observed entries of columns the model has never seen cannot enter the solve: drop them, and say so.
  const colMap = new Int32Array(tri.colKeys.size);
  for (let c = 0; c < tri.colKeys.size; c++) colMap[c] = model.keys.get(tri.colKeys.key(c));
  const keep: number[] = [];
  for (let e = 0; e < tri.nnz; e++) if (colMap[tri.cols[e]!]! >= 0) keep.push(e);
  const rows = Int32Array.from(keep, (e) => tri.rows[e]!);
  const cols = Int32Array.from(keep, (e) => colMap[tri.cols[e]!]!);
  const values = Float64Array.from(keep, (e) => tri.values[e]!);
  const raw = csrFromTriplets(tri.rowKeys.size, model.d, keep.length, rows, cols, values);
  const center: Center = { kind: model.center.kind, mean: model.center.mean, reg: model.center.reg, colBias: model.center.bias };
  const rowBias = rowBiases(raw, center, new Float64Array(raw.nRows));
  const observed = centered(raw, center, rowBias);
  const pred = uncenter(center, rowBias, pairs.rows, pairs.cols, predictWithModel(
    { d: model.d, K: model.K, lambda: model.lambda, scale: model.scale, transposed: false, alpha: model.alpha },
    observed,
    pairs.rows,
    pairs.cols,
  ));
  mkdirSync(outDir, { recursive: true });
  const path = await writePredictions(outDir, o, predictPath, columns, pairs, pred, { policy: (o['coldStart'] as ColdStart['policy']) ?? 'nan', center, rowBias });
  const report = {
    command: 'predict',
    version: VERSION,
    settings,
    model: resolve(modelDir),
    input: { file: resolve(input), rows: tri.rowKeys.size, observed: tri.nnz, droppedUnknownColumns: tri.nnz - keep.length },
    predict: { file: resolve(predictPath), pairs: pairs.n },
    totalSeconds: (performance.now() - t0) / 1000,
    peakRssBytes: peakRssBytes(),
    outputs: { predictions: path },
  };
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  progress.info(`wrote ${path}`);
}

export async function cmdComplete(o: Record<string, unknown>, settings: Resolved): Promise<void> {
  const t0 = performance.now();
  const progress = createProgress({ quiet: o['quiet'] === true });
  const input = o['input'] as string;
  const outDir = resolve(o['output'] as string);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw Errors.Io(outDir, 'output exists and is not a directory');
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
  const budget = (o['memoryBudget'] as number | undefined) ?? Math.floor(0.8 * totalmem());
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


/** `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table and SVG figures. */
export async function cmdExperiment(name: string, o: Record<string, unknown>): Promise<void> {
  const { experiments, findExperiment } = await import('./experiments/index.ts');
  const exp = findExperiment(name);
  if (exp === undefined) throw Errors.Usage(`experiment: unknown experiment "${name}" (one of ${experiments.map((e) => e.name).join(', ')})`);
  if (o['quick'] === true && o['full'] === true) throw Errors.Usage('experiment: --quick and --full exclude each other');
  const grid = o['full'] === true ? 'full' : 'quick';
  const outDir = resolve((o['output'] as string | undefined) ?? join('out', 'experiments', name));
  const progress = createProgress({ quiet: o['quiet'] === true });
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  let cells = 0;
  progress.info(`lin-rfm experiment ${name} (${grid} grid) -> ${outDir}`);
  const out = await exp.run({
    grid,
    outDir,
    seeds: o['seeds'] as number[] | undefined,
    log: (event, fields) => {
      cells++;
      progress.event(event, { experiment: name, ...fields });
      progress.status(`${name}: ${cells} cells, ${((performance.now() - t0) / 1000).toFixed(0)} s  ${JSON.stringify(fields).slice(0, 120)}`);
    },
  });
  progress.done();
  const report = { command: 'experiment', version: VERSION, experiment: name, grid, seconds: (performance.now() - t0) / 1000, outputs: { csv: out.csv, svg: out.svg }, summary: out.summary, peakRssBytes: peakRssBytes() };
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  if (o['quiet'] !== true) process.stdout.write(`wrote ${[...out.csv, ...out.svg, join(outDir, 'report.json')].join(', ')} in ${report.seconds.toFixed(0)} s\n`);
}
