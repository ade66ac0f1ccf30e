// `lin-rfm demo`: generate the built-in default problem, complete it and report the error against the truth.

import { join, resolve } from 'node:path';
import type { Resolved } from '../config/load.ts';
import { settingsOf } from '../config/settings.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { generateLowRank, unobservedError } from '../engine/synthetic.ts';
import { completeAsync } from '../pipeline/run.ts';
import { chooseKernel } from '../pipeline/memory.ts';
import type { Csr } from '../engine/csr.ts';
import { checkObserved } from './generate.ts';
import { engineOptionsFrom } from './options.ts';
import { workerCount } from './workers.ts';
import { createProgress } from './progress.ts';
import { kernelSummary, peakRssBytes, runSummary, sweepReporter, VERSION } from './report.ts';
import { makeDirs } from '../io/dirs.ts';

export async function cmdDemo(settings: Resolved): Promise<void> {
  const s = settingsOf('demo', settings.values);
  const progress = createProgress({ quiet: s.quiet });
  // the built-in default problem's size comes from the settings table (config/table.ts)
  const spec = { rows: s.rows, cols: s.cols, rank: s.rank, observed: s.observed, seed: s.dataSeed };
  checkObserved(spec);
  const outDir = resolve(s.output);
  progress.info(`lin-rfm demo: ${spec.rows} x ${spec.cols}, rank ${spec.rank}, ${spec.observed} observed (seed ${spec.seed})`);
  const problem = generateLowRank(spec);
  const eo = engineOptionsFrom(s);
  const workers = workerCount(s.workers, (m) => progress.warn(m));
  const choice = chooseKernel(s.kernel, eo.kernelRank, eo.kernelOversample, eo.kernelPowerSteps, demoShape(problem.train), true);
  progress.info(`kernel: ${choice.form}${choice.form === 'low-rank' ? ` of rank ${choice.rank}` : ''} (${choice.why})`);
  const result = await completeAsync(problem.train, { ...eo, kernel: choice.form, kernelRank: choice.rank, workers }, sweepReporter(progress, eo.maxSweeps));
  const kernel = kernelSummary(result, choice);
  if (kernel.warning !== null) progress.warn(kernel.warning);
  progress.done();
  const err = unobservedError(problem, (r, c) => result.predict(r, c));
  const summary = {
    command: 'demo',
    version: VERSION,
    settings,
    problem: spec,
    ...runSummary(result),
    kernel: kernel.summary,
    workers,
    test: { relativeError: err.relError, mse: err.mse, entries: err.count },
    peakRssBytes: peakRssBytes(),
  };
  makeDirs(outDir);
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(summary, null, 2) + '\n');
  const lines = [
    `sweeps          ${result.sweeps} (best ${result.bestSweep + 1}), stop: ${result.stopReason}`,
    `validation RMSE ${result.bestValidationRmse.toExponential(3)} on ${result.nValidation} held-out entries`,
    `test rel. error ${err.relError.toExponential(3)} on ${err.count} unobserved entries (truth used for reporting only)`,
    `seconds         ${result.seconds.toFixed(2)}`,
    `report          ${join(outDir, 'report.json')}`,
  ];
  if (!s.quiet) process.stdout.write(lines.join('\n') + '\n');
}

/** The shape chooseKernel needs, of the generated matrix (the kernel lies on its smaller side). */
function demoShape(m: Csr): { n: number; d: number; observed: number; sumCubes: number } {
  const transposed = m.nCols > m.nRows;
  const counts = new Float64Array(transposed ? m.nCols : m.nRows);
  if (transposed) for (let p = 0; p < m.colIdx.length; p++) counts[m.colIdx[p]!]!++;
  else for (let i = 0; i < m.nRows; i++) counts[i] = m.rowPtr[i + 1]! - m.rowPtr[i]!;
  let sumCubes = 0;
  for (const c of counts) sumCubes += c * c * c;
  return { n: counts.length, d: Math.min(m.nRows, m.nCols), observed: m.values.length, sumCubes };
}
