// What the experiments share around their own cells: recording a cell, the CSV, the median and
// min-max band of each curve, the chart files, the output with its cell count and seconds, and the
// Experiment built from the three grids, so that each experiment file holds only its grid and its
// measurements.

import { writeFileAtomic } from '../../pipeline/index.ts';
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
export function experimentOutput(t0: number, csv: string, svg: string[], summary: Record<string, unknown>, cells: number): ExperimentOutput {
  return { csv: [csv], svg, summary: { ...summary, cells, seconds: (performance.now() - t0) / 1000 } };
}

export interface ExperimentSpec<G> {
  name: string;
  description: string;
  grids: Readonly<Record<Grid, G>>;
  /** The grid with its seeds replaced (ExperimentOptions.seeds, from --seeds). */
  withSeeds: (grid: G, seeds: number[]) => G;
  run: (grid: G, outDir: string, log: ExperimentOptions['log']) => Promise<ExperimentOutput>;
}

export interface GridExperiment<G> extends Experiment {
  gridFor(g: Grid): G;
}

export function defineExperiment<G>(spec: ExperimentSpec<G>): GridExperiment<G> {
  const gridFor = (g: Grid): G => spec.grids[g];
  return {
    name: spec.name,
    description: spec.description,
    gridFor,
    run: (o) => {
      const grid = gridFor(o.grid);
      return spec.run(o.seeds ? spec.withSeeds(grid, o.seeds) : grid, o.outDir, o.log);
    },
  };
}
