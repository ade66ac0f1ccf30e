// `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table, SVG figures and a report.

import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { createProgress } from './progress.ts';
import { peakRssBytes, VERSION } from './report.ts';
import { makeDirs } from '../io/dirs.ts';

export interface ExperimentFlags {
  quick?: boolean;
  medium?: boolean;
  full?: boolean;
  smoke?: boolean;
  resume?: boolean;
  cells?: readonly [number, number];
  output?: string;
  seeds?: number[];
  quiet?: boolean;
}

/** `lin-rfm experiment NAME`: one of the paper's comparisons, as a CSV table and SVG figures. */
export async function cmdExperiment(name: string, f: ExperimentFlags): Promise<void> {
  const { experiments, findExperiment, CellsMismatch } = await import('../paper/index.ts');
  const exp = findExperiment(name);
  if (exp === undefined) throw Errors.Usage(`experiment: unknown experiment "${name}" (one of ${experiments.map((e) => e.name).join(', ')})`);
  const grids = (['quick', 'medium', 'full', 'smoke'] as const).filter((g) => f[g] === true);
  if (grids.length > 1) {
    const named = grids.map((g) => `--${g}`);
    throw Errors.Usage(`experiment: ${named.slice(0, -1).join(', ')} and ${named.at(-1)!} exclude each other`);
  }
  const grid = grids[0] ?? 'quick';
  if (!exp.grids.includes(grid)) throw Errors.Usage(`experiment ${name}: no --${grid} grid (it has ${exp.grids.map((g) => `--${g}`).join(', ')})`);
  const outDir = resolve(f.output ?? join('out', 'experiments', name));
  const progress = createProgress({ quiet: f.quiet === true });
  makeDirs(outDir);
  const t0 = performance.now();
  let cells = 0;
  progress.info(`lin-rfm experiment ${name} (${grid} grid) -> ${outDir}`);
  let out: Awaited<ReturnType<typeof exp.run>>;
  try {
    out = await exp.run({
      grid,
      outDir,
      seeds: f.seeds,
      cells: { resume: f.resume === true, slice: f.cells },
      log: (event, fields) => {
        cells++;
        progress.event(event, { experiment: name, ...fields });
        progress.status(`${name}: ${cells} cells, ${((performance.now() - t0) / 1000).toFixed(0)} s  ${JSON.stringify(fields).slice(0, 120)}`);
      },
    });
  } catch (err) {
    if (err instanceof CellsMismatch) throw Errors.Usage(`experiment ${name} --resume: ${err.message}`);
    throw err;
  }
  progress.done();
  const cellsFile = join(outDir, `${name}.cells.jsonl`);
  const report = {
    command: 'experiment', version: VERSION, experiment: name, grid, seconds: (performance.now() - t0) / 1000,
    outputs: { csv: out.csv, svg: out.svg, cells: cellsFile }, cells: { ...out.cells, slice: f.cells ?? null }, summary: out.summary, peakRssBytes: peakRssBytes(),
  };
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  const c = out.cells;
  if (c !== undefined && c.skipped > 0) progress.info(`${c.total - c.skipped} of the grid's ${c.total} cells done (${c.ran} run now, ${c.resumed} resumed); the rest: --resume --cells FIRST-LAST`);
  if (f.quiet !== true) process.stdout.write(`wrote ${[...out.csv, ...out.svg, cellsFile, join(outDir, 'report.json')].join(', ')} in ${report.seconds.toFixed(0)} s\n`);
}
