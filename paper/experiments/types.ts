// What every `lin-rfm experiment NAME` module provides: a run over a smoke, quick or full grid that
// writes a CSV table and SVG figures into an output directory.

import type { CellCounts, CellOptions } from './cells.ts';

/**
 * smoke: seconds, the smallest grid that still runs every method and writes every file, so that a
 * test can run the command end to end; its numbers are evidence for no claim. quick: minutes, the
 * claims at small sizes. medium (some experiments): under an hour, the published matrix size.
 * full: hours, the published sizes.
 */
export type Grid = 'smoke' | 'quick' | 'medium' | 'full';

export interface ExperimentOptions {
  grid: Grid;
  /** An existing directory: the experiment writes NAME.csv and NAME*.svg here (atomically). */
  outDir: string;
  /** Overrides the grid's seeds. */
  seeds?: number[];
  /** Structured progress (one call per finished cell of the grid, say); the CLI renders it. */
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Resuming from the finished cells of OUTDIR/NAME.cells.jsonl, a slice of the grid (experiments/cells.ts); default: all afresh. */
  cells?: CellOptions;
}

export interface ExperimentOutput {
  /** Paths written. */
  csv: string[];
  svg: string[];
  /** A small JSON-able digest for the run's report (medians per method, say). */
  summary: Record<string, unknown>;
  /** The grid's cells: run, taken from the cells file, left out. */
  cells?: CellCounts;
}

export interface Experiment {
  name: string;
  description: string;
  /** The grids it has ('medium' only some). */
  grids: readonly Grid[];
  run(o: ExperimentOptions): Promise<ExperimentOutput>;
}
