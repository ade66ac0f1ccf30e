// The job commands' work: demo, generate, predict, experiment (complete.ts has complete; the command
// line itself is cli.ts).

import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { writeCsvAtomic } from '../io/csv.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readModel } from '../io/model.ts';
import { Rng } from '../kernels/random.ts';
import { centered, rowBiases, uncenter, type Center } from '../engine/center.ts';
import { csrFromTriplets, nnzOf } from '../engine/csr.ts';
import { readObserved, readPairs, writePredictions, type ColdStart } from '../pipeline/dataio.ts';
import { predictWithModel } from '../engine/prediction.ts';
import { completeAsync, defaultEngineOptions, type CompletionResult, type EngineOptions, type SweepCallback } from '../pipeline/run.ts';
import { createProgress, type Progress } from './progress.ts';
import { generateLowRank, sampleDistinct, unobservedPairs, type SyntheticProblem } from '../engine/synthetic.ts';

export const VERSION = '0.1.0';

export function engineOptionsFrom(o: Record<string, unknown>): Partial<EngineOptions> {
  const map: [string, keyof EngineOptions][] = [
    ['alpha', 'alpha'],
    ['lambda', 'lambda'],
    ['lambdaSchedule', 'lambdaSchedule'],
    ['lambdaFactor', 'lambdaFactor'],
    ['lambdaPlateau', 'lambdaPlateau'],
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

export function sweepReporter(progress: Progress, maxSweeps: number): SweepCallback {
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

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function runSummary(r: CompletionResult): Record<string, unknown> {
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

/** `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table and SVG figures. */
export async function cmdExperiment(name: string, o: Record<string, unknown>): Promise<void> {
  const { experiments, findExperiment } = await import('../paper/experiments/index.ts');
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
