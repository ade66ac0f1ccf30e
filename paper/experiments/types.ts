// What every `lin-rfm experiment NAME` module provides: a run over a smoke, quick or full grid that
// writes a CSV table and SVG figures into an output directory.

/**
 * smoke: seconds, the smallest grid that still runs every method and writes every file, so that a
 * test can run the command end to end; its numbers are evidence for no claim. quick: minutes, the
 * claims at small sizes. full: hours, the published sizes.
 */
export type Grid = 'smoke' | 'quick' | 'full';

export interface ExperimentOptions {
  grid: Grid;
  /** An existing directory: the experiment writes NAME.csv and NAME*.svg here (atomically). */
  outDir: string;
  /** Overrides the grid's seeds. */
  seeds?: number[];
  /** Structured progress (one call per finished cell of the grid, say); the CLI renders it. */
  log: (event: string, fields: Record<string, unknown>) => void;
}

export interface ExperimentOutput {
  /** Paths written. */
  csv: string[];
  svg: string[];
  /** A small JSON-able digest for the run's report (medians per method, say). */
  summary: Record<string, unknown>;
}

export interface Experiment {
  name: string;
  description: string;
  run(o: ExperimentOptions): Promise<ExperimentOutput>;
}
