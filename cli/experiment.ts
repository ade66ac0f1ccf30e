// `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table, SVG figures and a report.

import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { createProgress } from './progress.ts';
import { peakRssBytes, VERSION } from './report.ts';
import { makeDirs } from '../io/dirs.ts';

export interface ExperimentFlags {
  quick?: boolean;
  full?: boolean;
  smoke?: boolean;
  output?: string;
  seeds?: number[];
  quiet?: boolean;
}

/** `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table and SVG figures. */
export async function cmdExperiment(name: string, f: ExperimentFlags): Promise<void> {
  const { experiments, findExperiment } = await import('../paper/index.ts');
  const exp = findExperiment(name);
  if (exp === undefined) throw Errors.Usage(`experiment: unknown experiment "${name}" (one of ${experiments.map((e) => e.name).join(', ')})`);
  const grids = (['quick', 'full', 'smoke'] as const).filter((g) => f[g] === true);
  if (grids.length > 1) {
    const named = grids.map((g) => `--${g}`);
    throw Errors.Usage(`experiment: ${named.slice(0, -1).join(', ')} and ${named.at(-1)!} exclude each other`);
  }
  const grid = grids[0] ?? 'quick';
  const outDir = resolve(f.output ?? join('out', 'experiments', name));
  const progress = createProgress({ quiet: f.quiet === true });
  makeDirs(outDir);
  const t0 = performance.now();
  let cells = 0;
  progress.info(`lin-rfm experiment ${name} (${grid} grid) -> ${outDir}`);
  const out = await exp.run({
    grid,
    outDir,
    seeds: f.seeds,
    log: (event, fields) => {
      cells++;
      progress.event(event, { experiment: name, ...fields });
      progress.status(`${name}: ${cells} cells, ${((performance.now() - t0) / 1000).toFixed(0)} s  ${JSON.stringify(fields).slice(0, 120)}`);
    },
  });
  progress.done();
  const report = { command: 'experiment', version: VERSION, experiment: name, grid, seconds: (performance.now() - t0) / 1000, outputs: { csv: out.csv, svg: out.svg }, summary: out.summary, peakRssBytes: peakRssBytes() };
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  if (f.quiet !== true) process.stdout.write(`wrote ${[...out.csv, ...out.svg, join(outDir, 'report.json')].join(', ')} in ${report.seconds.toFixed(0)} s\n`);
}
