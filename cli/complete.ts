// `lin-rfm complete`: read the observed entries, plan the memory (in memory or spilled), complete on
// the pool, and write predictions, top-k, the full matrix, the model and report.json.

import { accessSync, constants, rmSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { shownValues } from '../config/table.ts';
import { settingsOf, type CompleteSettings } from '../config/settings.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { Pairs } from '../io/entries.ts';
import { writeModel } from '../io/model.ts';
import { clipTo, uncenter, type Center } from '../engine/center.ts';
import type { CompletionResult, CsrSource, EngineOptions, LinRfmModel } from '../engine/options.ts';
import { NumericError } from '../engine/errors.ts';
import { ResumeMismatch } from '../engine/state.ts';
import { fingerprint, isParquet, readPairs } from '../pipeline/inputs.ts';
import { jobControl, type JobControl } from '../pipeline/jobcontrol.ts';
import { loadInMemory, loadMode, loadSpilled, type Loaded } from '../pipeline/load.ts';
import { topKPerRow, topKPerRowByColumns, writeFull, writeKeyedTable, writePredictions, type TopKLists } from '../pipeline/outputs.ts';
import { openOutputFolder, type OutputFolder } from '../pipeline/outdir.ts';
import { completeAsync } from '../pipeline/run.ts';
import { engineOptionsFrom } from './options.ts';
import { workerCount } from './workers.ts';
import { evaluateRun } from './evaluate.ts';
import { createProgress, type Progress } from './progress.ts';
import { kernelSummary, peakRssBytes, runSummary, sweepReporter, VERSION } from './report.ts';
import { makeDirs } from '../io/dirs.ts';
import { STDIN, withInput, type SpooledInput } from '../pipeline/stdin.ts';
import { openCluster, type OpenCluster } from './cluster.ts';
import { parseGrid, runGrid, tuneCsv, tunedConfig, type TuneCell, type TuneOutcome } from './tune.ts';

export async function cmdComplete(settings: Resolved): Promise<void> {
  const s = settingsOf('complete', settings.values);
  const t0 = performance.now();
  const progress = createProgress({ quiet: s.quiet });
  const input = s.input;
  const outDir = resolve(s.output);
  const budget = s.memoryBudget ?? Math.floor(0.8 * totalmem());
  const workers = workerCount(s.workers, (m) => progress.warn(m));
  const columns = { rowKey: s.rowKey, colKey: s.colKey, valueKey: s.valueKey, delimiter: s.delimiter, partitions: s.filter };
  const eo = engineOptionsFrom(s);
  const grid = s.tune === undefined ? undefined : parseGrid(s.tune);
  if (grid !== undefined && s.resume) throw Errors.Usage('--tune and --resume do not go together: a tuned job keeps no checkpoint');
  const checkpointPath = resolve(s.checkpoint ?? join(outDir, 'checkpoint.lrfm'));
  // one job per output folder; its outputs are staged there and published together at the end
  const folder = openOutputFolder(outDir, 'lin-rfm complete', (m) => progress.warn(m));
  let job: JobControl | undefined;
  try {
    checkWritable(dirname(checkpointPath), 'the checkpoint');
    // the truth to score against is read at the end: found missing before the run, not after it
    if (s.evaluate !== undefined) {
      try {
        accessSync(s.evaluate, constants.R_OK);
      } catch (err) {
        throw Errors.MissingInput(s.evaluate, `--evaluate: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
      }
    }
    // signals are caught from here to the end: the load stops at the next batch or bucket, the sweeps
    // after a checkpoint, and the outputs are finished
    job = jobControl({ path: checkpointPath, every: s.checkpointEvery, resume: s.resume, progress, watchParent: process.env['npm_command'] === 'exec' });
    const control = job;
    // standard input (--input -) is copied into the work directory first, and read from there
    await withInput(input, resolve(s.workDir ?? join(outDir, 'spill')), async (path, name, spooled) => {
      try {
        await completeJob(s, settings, t0, { input: path, name, spooled, grid, outDir, folder, columns, eo, workers, budget, progress, job: control, checkpointPath });
      } catch (err) {
        throw err instanceof NumericError ? Errors.Numeric(path, err.message) : err;
      }
    });
  } finally {
    job?.dispose(false);
    folder.close();
  }
}

/** A directory that will be written into later: made if need be, and proved writable now, before any work. */
function checkWritable(dir: string, what: string): void {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw Errors.Io(dir, `${what} cannot be written here: ${(err as Error).message}`, { cause: err });
  }
}

async function completeJob(
  s: CompleteSettings, settings: Resolved, t0: number,
  j: { input: string; name: string; spooled: SpooledInput | undefined; grid: TuneCell[] | undefined; outDir: string; folder: OutputFolder; columns: { rowKey: string; colKey: string; valueKey: string }; eo: EngineOptions; workers: number; budget: number; progress: Progress; job: JobControl; checkpointPath: string },
): Promise<void> {
  const { job } = j;
  const checkInterrupt = (): void => {
    const signal = job.signal();
    if (signal !== null) throw Errors.Interrupted(signal, 'stopped while loading the input; nothing was written');
  };
  // the cluster first: Redis unreachable or refusing the credentials is found before the input is read
  const cluster = await openCluster(s, j.progress);
  try {
    await clusterJob(s, settings, t0, j, cluster, checkInterrupt);
  } finally {
    await cluster?.coord.close();
  }
}

async function clusterJob(
  s: CompleteSettings, settings: Resolved, t0: number, j: Parameters<typeof completeJob>[3], cluster: OpenCluster | undefined, checkInterrupt: () => void,
): Promise<void> {
  const { input, name, spooled, grid, outDir, folder, columns, eo, workers, budget, progress, job, checkpointPath } = j;
  // a run on the cluster is a spilled run, its chunks in the shared storage
  const loaded = cluster !== undefined
    ? await loadSpilled(s, input, outDir, columns, eo, workers, budget, progress, checkInterrupt, cluster.jobDir)
    : (await loadMode(s, input, budget, workers)) === 'spilled'
      ? await loadSpilled(s, input, outDir, columns, eo, workers, budget, progress, checkInterrupt)
      : await loadInMemory(s, input, outDir, columns, workers, budget, progress);
  try {
    checkInterrupt();
    const out = loaded.outliers;
    if (out.count > 0) {
      const e = out.examples[0]!;
      progress.event('outliers', { count: out.count, policy: out.policy, lo: out.lo, hi: out.hi, median: out.median, scale: out.scale, examples: out.examples });
      progress.warn(`${out.count} value${out.count > 1 ? 's' : ''} beyond ${out.limit} robust standard deviations from the median ${out.median} `
        + `(outside [${out.lo.toPrecision(4)}, ${out.hi.toPrecision(4)}]; e.g. ${e.row}, ${e.col}: ${e.value}): ${out.policy === 'clip' ? `clipped to the nearest other value (${out.inliers[0]} to ${out.inliers[1]})` : 'kept'} (--outliers)`);
    }
    const predictPath = s.predict;
    const pairs = predictPath !== undefined ? await readPairs(predictPath, loaded.keys.rowKeys, loaded.keys.colKeys, columns) : null;
    const { nRows, nCols, nnz, spill, estimate } = loaded;
    progress.event('memory', { estimateBytes: estimate.bytes, budgetBytes: budget, spill: spill !== undefined, chunkEntries: spill?.chunkEntries ?? null, load: loaded.mode });
    progress.info(`${nRows} rows x ${nCols} columns, ${nnz} observed${spill ? `; spilling to ${spill.dir} in chunks of up to ${spill.chunkEntries} entries` : ''}`);
    let result: CompletionResult;
    let tuned: TuneOutcome | undefined;
    try {
      // the kernel's form and rank, and whether it fits the side biases (--center side-bias, or auto with the low-rank kernel)
      const kernel = { kernel: loaded.kernel.form, kernelRank: loaded.kernel.form === 'low-rank' ? loaded.kernel.rank : eo.kernelRank, sideBias: loaded.center.kind === 'side-bias' };
      if (grid === undefined) {
        result = await completeAsync(loaded.take(), { ...eo, ...kernel, workers, spill, remote: cluster?.coord }, sweepReporter(progress, eo.maxSweeps), job.control);
      } else {
        if (loaded.mode === 'spilled' || spill !== undefined) throw Errors.Config('tune', s.tune, 'a tuned job runs in memory and this one spills; raise --memory-budget or tune on a sample of the input');
        if (loaded.kernel.form === 'dense' && grid.some((c) => c.kernelRank !== undefined)) throw Errors.Config('tune', s.tune, 'kernel-rank is tuned only with the low-rank kernel (--kernel low-rank)');
        tuned = await runGrid(grid, loaded.take() as CsrSource, (cell, data) => {
          const ce = engineOptionsFrom({ ...s, ...cell });
          return completeAsync(data, { ...ce, ...kernel, kernelRank: cell.kernelRank === undefined ? kernel.kernelRank : ce.kernelRank, workers }, sweepReporter(progress, ce.maxSweeps), { interrupted: job.control.interrupted });
        }, progress, () => job.signal());
        result = tuned.result;
      }
    } catch (err) {
      if (err instanceof ResumeMismatch) {
        throw Errors.Config('resume', checkpointPath, `the checkpoint belongs to other input data or engine options (checkpoint run ${err.savedRun}, this run ${err.thisRun}); remove it or rerun with the original input and options`);
      }
      throw err;
    }
    try {
      await writeCompleteOutputs(s, settings, t0, { input, name, spooled, tuned, outDir, folder, columns, loaded, pairs, result, job, checkpointPath, progress, workers, budget, cluster: cluster?.summary() ?? null });
    } finally {
      result.release();
    }
  } finally {
    loaded.dispose();
  }
}

interface CompleteRun {
  input: string;
  /** The input as the report names it (its absolute path, or - for standard input). */
  name: string;
  spooled: SpooledInput | undefined;
  tuned: TuneOutcome | undefined;
  outDir: string;
  folder: OutputFolder;
  columns: { rowKey: string; colKey: string; valueKey: string };
  loaded: Loaded;
  pairs: Pairs | null;
  result: CompletionResult;
  job: JobControl;
  checkpointPath: string;
  progress: Progress;
  workers: number;
  budget: number;
  /** A run on the cluster: cli/cluster.ts's summary. */
  cluster: Record<string, unknown> | null;
}

/** complete's outputs: predictions, top-k, the full matrix, the model and report.json (then the checkpoint goes). */
async function writeCompleteOutputs(s: CompleteSettings, settings: Resolved, t0: number, r: CompleteRun): Promise<void> {
  const { input, name, spooled, tuned, outDir, folder, columns, loaded, pairs, result, job, checkpointPath, progress, workers, budget, cluster } = r;
  // written into the staging directory, named in the report by where they will be
  const stage = folder.staging;
  const final = folder.final;
  const { keys: tri, center, rowBias, nnz, estimate } = loaded;
  progress.done();
  const signal = job.signal();
  if (result.stopReason === 'interrupted' && signal !== null) {
    throw Errors.Interrupted(signal, `stopped after sweep ${result.sweeps}, checkpoint written to ${checkpointPath}; run the same command with --resume to continue`);
  }
  if (result.stopReason === 'diverged') {
    const at = result.history.at(-1)!;
    throw Errors.Numeric(input, `the validation error became non-finite at sweep ${at.sweep + 1} (ridge ${at.lambda.toExponential(2)}, ${at.cholFallbacks} row solves that would not factor); nothing was written`);
  }
  progress.info(`${result.sweeps} sweeps, stop: ${result.stopReason}, validation RMSE ${result.bestValidationRmse.toExponential(3)}`);
  const rs = result.ridgeSearch;
  if (rs !== null) progress.info(`final ridge ${rs.chosen.toExponential(2)} (the best sweep's ${rs.tried[0]!.lambda.toExponential(2)}), picked on the validation entries from ${rs.tried.length} tried: validation RMSE ${rs.tried[0]!.validationRmse.toExponential(3)} to ${result.bestValidationRmse.toExponential(3)}`);

  const outputs: Record<string, string> = {};
  let unseen = 0;
  if (pairs !== null) {
    const pred = clipTo(s.clip, uncenter(center, rowBias, pairs.rows, pairs.cols, result.predict(pairs.rows, pairs.cols)));
    for (let e = 0; e < pairs.n; e++) {
      if (pairs.rows[e]! < 0 || pairs.cols[e]! < 0) unseen++;
      else if (!Number.isFinite(pred[e]!)) {
        throw Errors.Numeric(s.predict!, `the prediction for (${pairs.rowText[e]}, ${pairs.colText[e]}), a pair of known keys, is ${pred[e]}; nothing was written`);
      }
    }
    const path = await writePredictions(stage, s.format, s.predict!, columns, pairs, pred, { policy: s.coldStart, center, rowBias, clip: s.clip });
    outputs['predictions'] = final(path);
  }
  // predictions in the data's units, for the outputs that complete whole rows
  const predictOut = (r: Int32Array, c: Int32Array): Float64Array => {
    const p = uncenter(center, rowBias, r, c, result.predict(r, c));
    for (let e = 0; e < p.length; e++) {
      if (!Number.isFinite(p[e]!)) {
        throw Errors.Numeric(input, `the completed value of (${tri.rowKeys.key(r[e]!)}, ${tri.colKeys.key(c[e]!)}) is ${p[e]}; nothing was written`);
      }
    }
    return p;
  };
  // clipped to --clip for what is written; the top-k lists rank by the unclipped scores (no ties at the top of the scale)
  const predictClipped = (r: Int32Array, c: Int32Array): Float64Array => clipTo(s.clip, predictOut(r, c));
  const tableFormat = s.format ?? (isParquet(input) ? 'parquet' : 'csv');
  const topK = s.topK;
  let top: TopKLists | null = null;
  if (topK !== undefined) {
    const path = join(stage, `topk.${tableFormat}`);
    top = loaded.byColumn ? topKPerRowByColumns(loaded.observed, topK, predictOut) : topKPerRow(loaded.observed, topK, predictOut);
    await writeKeyedTable(path, tableFormat, columns, [
      Array.from(top.rows, (i) => tri.rowKeys.key(i)),
      Array.from(top.cols, (j) => tri.colKeys.key(j)),
    ], [{ name: 'score', values: clipTo(s.clip, top.scores.slice()) }, { name: 'rank', values: top.ranks }]);
    outputs['topk'] = final(path);
  }
  if (s.full) outputs['full'] = final(await writeFull(stage, tableFormat, loaded.observed, tri, columns, predictClipped, loaded.byColumn));
  if (tuned !== undefined) {
    await writeFileAtomic(join(stage, 'tune.csv'), tuneCsv(tuned.rows, tuned.winner));
    await writeFileAtomic(join(stage, 'tuned.json'), JSON.stringify(tunedConfig(s, tuned.rows[tuned.winner]!.cell), null, 2) + '\n');
    outputs['tune'] = final(join(stage, 'tune.csv'));
    outputs['tuned'] = final(join(stage, 'tuned.json'));
  }
  const evaluation = s.evaluate === undefined ? null : await evaluateRun(s.evaluate, { rowKey: s.rowKey, colKey: s.colKey, valueKey: s.valueKey, delimiter: s.delimiter }, tri, predictClipped, top, topK);
  if (evaluation?.rating) progress.info(`evaluation against ${s.evaluate}: RMSE ${evaluation.rating.rmse.toFixed(4)} over ${evaluation.rating.predicted} of ${evaluation.rating.pairs} pairs`);
  const kernel = kernelSummary(result, loaded.kernel);
  if (kernel.warning !== null) progress.warn(kernel.warning);
  const modelDir = join(stage, 'model');
  await writeModel(modelDir, {
    d: result.model.d,
    K: result.model.K,
    lowRank: result.model.lowRank,
    lambda: result.model.lambda,
    scale: result.model.scale,
    alpha: result.model.alpha,
    transposed: result.model.transposed,
    keys: result.model.transposed ? tri.rowKeys : tri.colKeys,
    center: { kind: center.kind, mean: center.mean, reg: center.reg, bias: modelBias(result.model, center) },
  });
  outputs['model'] = final(modelDir);
  const report = {
    command: 'complete',
    version: VERSION,
    settings: { ...settings, values: shownValues(settings.values) },
    input: {
      file: name, rows: loaded.nRows, cols: loaded.nCols, observed: nnz, mergedDuplicates: loaded.mergedDuplicates, load: loaded.mode,
      fingerprint: spooled === undefined ? fingerprint(input, s.filter) : [{ file: STDIN, bytes: spooled.bytes, sha256: spooled.sha256 }],
    },
    predict: pairs ? { file: resolve(s.predict!), pairs: pairs.n, unseenKeys: unseen } : null,
    evaluation,
    tune: tuned === undefined ? null : { grid: s.tune, winner: tuned.winner, settings: tuned.rows[tuned.winner]!.cell, runs: tuned.rows },
    ...runSummary(result),
    kernel: kernel.summary,
    resumedAfterSweep: job.resumedAt,
    center: { kind: center.kind, mean: center.mean },
    outliers: loaded.outliers,
    workers,
    cluster,
    memory: { estimateBytes: estimate.bytes, budgetBytes: budget, parts: estimate.parts, spilledChunks: result.spilledChunks },
    totalSeconds: (performance.now() - t0) / 1000,
    peakRssBytes: peakRssBytes(),
    outputs,
  };
  await writeFileAtomic(join(stage, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  folder.publish();
  // the outputs supersede the checkpoint
  rmSync(checkpointPath, { force: true });
  if (!s.quiet) process.stdout.write(`wrote ${Object.values(outputs).concat(join(outDir, 'report.json')).join(', ')}\n`);
}

/**
 * The kernel side's biases the model keeps, in the data's units: the side biases fitted with the
 * sweeps (engine/side-bias.ts), or a 'bias' centering's column biases when the kernel is on the columns.
 */
function modelBias(model: LinRfmModel, center: Center): Float64Array {
  if (model.bias !== undefined) return model.bias;
  return model.transposed ? new Float64Array(0) : center.colBias;
}
