// `lin-rfm demo`: generate the built-in default problem, complete it and report the error against the truth.

import { join, resolve } from 'node:path';
import type { Resolved } from '../config/load.ts';
import { settingsOf } from '../config/settings.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { generateLowRank, unobservedError } from '../engine/synthetic.ts';
import { completeAsync } from '../pipeline/run.ts';
import { checkObserved } from './generate.ts';
import { engineOptionsFrom } from './options.ts';
import { workerCount } from './workers.ts';
import { createProgress } from './progress.ts';
import { peakRssBytes, runSummary, sweepReporter, VERSION } from './report.ts';
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
  const result = await completeAsync(problem.train, { ...eo, workers }, sweepReporter(progress, eo.maxSweeps));
  progress.done();
  const err = unobservedError(problem, (r, c) => result.predict(r, c));
  const summary = {
    command: 'demo',
    version: VERSION,
    settings,
    problem: spec,
    ...runSummary(result),
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
