// `complete --tune GRID`: the engine's settings that matter, tried on one load of the input, each
// run scored by its best validation RMSE (the validation split alone: the same split for every run,
// since it depends on the data and --seed only); the winner's run gives the job's outputs.

import { Errors } from '../config/errors.ts';
import { check, fromText } from '../config/load.ts';
import type { EngineSettings } from '../config/settings.ts';
import { keyDefs } from '../config/table.ts';
import type { Csr } from '../engine/csr.ts';
import type { CompletionResult, CsrSource } from '../engine/options.ts';

/** The settings a grid may vary: the schedule, the kernel power and the kernel's rank. */
const TUNABLE = ['alpha', 'lambda', 'lambdaSchedule', 'lambdaFactor', 'lambdaPlateau', 'momentum', 'kernelRank'] as const;
type Tunable = (typeof TUNABLE)[number];
export type TuneCell = Partial<Pick<EngineSettings, Tunable>>;

/** `--tune default`: the kernel power and how closely the ridge tracks the validation error. */
export const DEFAULT_GRID = 'alpha=0.5,0.75;lambda-factor=0.5,2,8';

const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/**
 * `alpha=0.5,0.75;lambda-factor=1,2,4` (flag names without the dashes, or the config keys) as the
 * cross product of its values, first key slowest; every value checked by its setting's own schema.
 */
export function parseGrid(text: string): TuneCell[] {
  const spec = text.trim() === 'default' ? DEFAULT_GRID : text;
  const bad = (why: string): never => {
    throw Errors.Config('tune', text, why);
  };
  const axes: Array<{ key: Tunable; values: unknown[] }> = [];
  for (const part of spec.split(';').map((x) => x.trim()).filter((x) => x !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) bad(`expected name=v1,v2 (e.g. ${DEFAULT_GRID}), found ${JSON.stringify(part)}`);
    const name = part.slice(0, eq).trim();
    const key = TUNABLE.find((k) => k === name || flagOf(k) === name);
    if (key === undefined) bad(`${name} cannot be tuned; one of ${TUNABLE.map(flagOf).join(', ')}`);
    if (axes.some((a) => a.key === key)) bad(`${name} is given twice`);
    const def = keyDefs.find((d) => d.key === key)!;
    const values = part.slice(eq + 1).split(',').map((v) => v.trim()).filter((v) => v !== '').map((v) => {
      const r = check(def, fromText(def, v));
      return r.ok ? r.value : bad(`${name} = ${v}: ${r.why}`);
    });
    if (values.length === 0) bad(`${name} has no values`);
    axes.push({ key: key!, values });
  }
  if (axes.length === 0) bad(`no settings to try (e.g. ${DEFAULT_GRID})`);
  let cells: TuneCell[] = [{}];
  for (const a of axes) cells = cells.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  return cells;
}

/** A cell as the grid's text names it: `alpha=0.5 lambda-factor=2`. */
export const cellLabel = (c: TuneCell): string => Object.entries(c).map(([k, v]) => `${flagOf(k)}=${String(v)}`).join(' ');

export interface TuneRow {
  cell: TuneCell;
  bestValidationRmse: number;
  bestSweep: number;
  sweeps: number;
  stopReason: string;
  kernelRank: number | null;
  seconds: number;
}

export interface TuneOutcome {
  rows: TuneRow[];
  winner: number;
  result: CompletionResult;
}

/**
 * Runs every cell on its own copy of the prepared matrix, keeping the best validated result (the
 * others are released as they lose); progress and an estimate of the time left after each cell.
 * A signal stops the grid: nothing is written.
 */
export async function runGrid(
  cells: readonly TuneCell[], source: CsrSource, run: (cell: TuneCell, input: CsrSource) => Promise<CompletionResult>,
  progress: { info(m: string): void; event(name: string, fields: Record<string, unknown>): void }, signal: () => 'SIGINT' | 'SIGTERM' | null,
): Promise<TuneOutcome> {
  const data = copies(source);
  const rows: TuneRow[] = [];
  let best: CompletionResult | null = null;
  let winner = -1;
  const t0 = performance.now();
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]!;
    const t = performance.now();
    const r = await run(cell, data.next(i === cells.length - 1));
    const stopped = signal();
    if (r.stopReason === 'interrupted' && stopped !== null) {
      r.release();
      best?.release();
      throw Errors.Interrupted(stopped, `stopped while tuning (run ${i + 1} of ${cells.length}); nothing was written`);
    }
    const row: TuneRow = {
      cell, bestValidationRmse: r.bestValidationRmse, bestSweep: r.bestSweep, sweeps: r.sweeps, stopReason: r.stopReason,
      kernelRank: r.model.lowRank?.k ?? null, seconds: (performance.now() - t) / 1000,
    };
    rows.push(row);
    if (better(r, best)) {
      best?.release();
      best = r;
      winner = i;
    } else {
      r.release();
    }
    const left = ((performance.now() - t0) / 1000 / (i + 1)) * (cells.length - 1 - i);
    progress.event('tune', { run: i + 1, of: cells.length, ...cell, bestValidationRmse: row.bestValidationRmse, sweeps: row.sweeps, seconds: row.seconds, secondsLeft: left });
    progress.info(`tune ${i + 1}/${cells.length} ${cellLabel(cell)}: best validation RMSE ${row.bestValidationRmse.toExponential(4)} at sweep ${row.bestSweep + 1} of ${row.sweeps} `
      + `(${row.seconds.toFixed(1)} s)${i + 1 < cells.length ? `; about ${left.toFixed(0)} s left` : ''}`);
  }
  if (best === null) throw Errors.Numeric('--tune', 'no run of the grid ended with a finite validation error; nothing was written');
  return { rows, winner, result: best };
}

/** Each cell's run gets its own copy of the prepared matrix (the engine scales what it is given in place). */
function copies(source: CsrSource): { next(last: boolean): CsrSource } {
  const base: Csr = source.take();
  return {
    next: (last) => ({
      take: () => (last ? base : { nRows: base.nRows, nCols: base.nCols, rowPtr: base.rowPtr.slice(), colIdx: base.colIdx.slice(), values: base.values.slice() }),
    }),
  };
}

/** Whether b beats a on validation (ties keep the earlier cell; a non-finite error never wins). */
const better = (b: CompletionResult, a: CompletionResult | null): boolean =>
  Number.isFinite(b.bestValidationRmse) && (a === null || !Number.isFinite(a.bestValidationRmse) || b.bestValidationRmse < a.bestValidationRmse);

/** tune.csv: one line a cell, in grid order, the winner marked. */
export function tuneCsv(rows: readonly TuneRow[], winner: number): string {
  const keys = TUNABLE.filter((k) => rows.some((r) => k in r.cell));
  const head = [...keys.map(flagOf), 'best_validation_rmse', 'best_sweep', 'sweeps', 'stop_reason', 'kernel_rank', 'seconds', 'winner'];
  const lines = rows.map((r, i) => [
    ...keys.map((k) => String(r.cell[k])), String(r.bestValidationRmse), String(r.bestSweep), String(r.sweeps), r.stopReason, r.kernelRank === null ? '' : String(r.kernelRank),
    r.seconds.toFixed(2), i === winner ? '1' : '0',
  ].join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** The winner's engine settings as a config file (`--config tuned.json` repeats its run). */
export function tunedConfig(s: EngineSettings, cell: TuneCell): Record<string, unknown> {
  // the engine's settings alone (those of demo and complete, not predict's), without the machine's worker count
  const merged: Record<string, unknown> = { ...s, ...cell };
  const keys = keyDefs.filter((d) => d.commands.includes('demo') && d.commands.includes('complete') && !d.commands.includes('predict') && d.key !== 'workers');
  return Object.fromEntries(keys.filter((d) => merged[d.key] !== undefined).map((d) => [d.key, merged[d.key]]));
}
