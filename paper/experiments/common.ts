// What the experiments share around their own cells: recording a cell, the CSV, the median and
// min-max band of each curve, the chart files, the output with its cell count and seconds, and the
// Experiment built from the three grids, so that each experiment file holds only its grid and its
// measurements.

import { join } from 'node:path';
import { writeFileAtomic } from '../../pipeline/index.ts';
import { CellStore, gridId } from './cells.ts';
import { lineChart, type ChartOptions, type Series } from '../svg.ts';
import type { Experiment, ExperimentOptions, ExperimentOutput, Grid } from './types.ts';

/** NaN for no values, so that a curve with no finite value at a point reads as missing. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * Keeps the record, reports its fields, then yields to the event loop: the cells run synchronously,
 * and without the yield the caller's progress output would only appear once the whole grid is done.
 */
export async function recordCell<R>(records: R[], rec: R, log: ExperimentOptions['log'], fields: Record<string, unknown>): Promise<void> {
  records.push(rec);
  log('cell', fields);
  await new Promise((resolve) => setImmediate(resolve));
}

/** Writes the table (header, one line per record) atomically and returns its path. */
export async function writeCsv(path: string, header: string, lines: string[]): Promise<string> {
  await writeFileAtomic(path, [header, ...lines].join('\n') + '\n');
  return path;
}

export interface MedianCurve {
  points: [number, number][];
  band: [number, number, number][];
  /** The median at each x that has values, keyed by String(x), for the run's summary. */
  medians: Record<string, number>;
}

export interface MedianCurveOptions {
  /** Where x is drawn (the medians stay keyed by x): completion-samples plots thousands. */
  plotX?: (x: number) => number;
  /** Drawn values are raised to this, so that exact zeros stay on a log axis. */
  floor?: number;
}

/**
 * The median and min-max band over seeds at each x of a curve. Only finite values count, and an x
 * without any is left out of the curve and the medians alike rather than drawn as a gap.
 */
export function medianCurve(xs: readonly number[], valuesAt: (x: number) => number[], o: MedianCurveOptions = {}): MedianCurve {
  const plotX = o.plotX ?? ((x: number) => x);
  const floor = o.floor ?? -Infinity;
  const curve: MedianCurve = { points: [], band: [], medians: {} };
  for (const x of xs) {
    const ys = valuesAt(x).filter(Number.isFinite);
    if (ys.length === 0) continue;
    const med = median(ys);
    curve.medians[String(x)] = med;
    curve.points.push([plotX(x), Math.max(floor, med)]);
    curve.band.push([plotX(x), Math.max(floor, Math.min(...ys)), Math.max(floor, Math.max(...ys))]);
  }
  return curve;
}

/** Draws the chart, writes it atomically and returns its path. */
export async function writeChart(path: string, series: Series[], options: ChartOptions): Promise<string> {
  await writeFileAtomic(path, lineChart(series, options));
  return path;
}

/** The output of a run that started at t0 (performance.now()); the cell count and seconds come last in the summary. */
export function experimentOutput(t0: number, csv: string | string[], svg: string[], summary: Record<string, unknown>, cells: number): ExperimentOutput {
  return { csv: typeof csv === 'string' ? [csv] : csv, svg, summary: { ...summary, cells, seconds: (performance.now() - t0) / 1000 } };
}

export interface ExperimentSpec<G, R> {
  name: string;
  description: string;
  grids: Readonly<Record<Exclude<Grid, 'medium'>, G>> & { medium?: G };
  /** The grid with its seeds replaced (ExperimentOptions.seeds, from --seeds). */
  withSeeds: (grid: G, seeds: number[]) => G;
  /** Runs the grid, each unit of work through `cells` (so that it resumes and slices). */
  run: (grid: G, outDir: string, log: ExperimentOptions['log'], cells: CellStore<R>) => Promise<ExperimentOutput>;
}

export interface GridExperiment<G> extends Experiment {
  gridFor(g: Grid): G;
}

export function defineExperiment<G, R>(spec: ExperimentSpec<G, R>): GridExperiment<G> {
  const gridFor = (g: Grid): G => {
    const grid = spec.grids[g];
    if (grid === undefined) throw new RangeError(`experiment ${spec.name} has no ${g} grid`);
    return grid;
  };
  return {
    name: spec.name,
    description: spec.description,
    grids: (['smoke', 'quick', 'medium', 'full'] as const).filter((g) => spec.grids[g] !== undefined),
    gridFor,
    run: async (o) => {
      const base = gridFor(o.grid);
      const grid = o.seeds ? spec.withSeeds(base, o.seeds) : base;
      const cells = CellStore.open<R>(join(o.outDir, `${spec.name}.cells.jsonl`), spec.name, gridId(grid), o.cells ?? { resume: false });
      const out = await spec.run(grid, o.outDir, o.log, cells);
      return { ...out, cells: { ...cells.counts } };
    },
  };
}

/** Runs one unit of work of a grid through the cells file and records what it gave (see CellStore.cell). */
export async function runCell<R extends object>(
  cells: CellStore<R>, key: string, records: R[], log: ExperimentOptions['log'], compute: () => Promise<R[]> | R[],
): Promise<void> {
  const got = await cells.cell(key, compute);
  for (const rec of got.records) await recordCell(records, rec, log, { ...rec, ...(got.resumed ? { resumed: true } : {}) });
}
