// The engine's state between two sweeps: everything the next sweep depends on, so that a run
// stopped after any sweep and resumed from this state ends with the same bits as one that never
// stopped. The kernel's coefficients are not state: each sweep recomputes them from the kernel.

import type { PreparedData } from './split.ts';
import type { EngineOptions, SweepInfo } from './options.ts';
import type { ScheduleState } from './schedule.ts';

/** The schedule's state (engine/schedule.ts) and the arrays and history of the sweeps so far. */
export interface EngineState extends ScheduleState {
  /** Sweeps finished; the next sweep to run has this number. */
  sweepsDone: number;
  d: number;
  /** Names the data and the options the state belongs to (see runId). */
  runId: string;
  history: SweepInfo[];
  /** The kernel the next sweep fits with, d x d. */
  K: Float64Array;
  /** The kernel of the best sweep so far. */
  best: Float64Array;
  /** G of the last sweep for the extrapolation (its power G^(2 alpha) when 2 alpha < 1); length 0 without momentum. */
  Gprev: Float64Array;
  /** The side biases (engine/side-bias.ts SideBias.pack: the next targets', the last fit's, the best's); absent without them. */
  bias?: Float64Array;
}

/** What a run may be told besides its options: checkpoints, a state to resume from, interruption. */
export interface RunControl {
  /** Hand the state to onCheckpoint after every this many sweeps (0 = only when interrupted). */
  checkpointEvery?: number;
  /**
   * Receives the state after a sweep; its arrays are the engine's own and change with the next
   * sweep, so it must copy or write them before returning.
   */
  onCheckpoint?: (state: EngineState) => void;
  /** Continue from this state instead of K = I (it must come from the same data and options). */
  resume?: EngineState;
  /** Polled after every sweep; true ends the run there (after a checkpoint) with stop reason 'interrupted'. */
  interrupted?: () => boolean;
}

/** A state to resume from that belongs to other data or options (the engine checks before its first sweep). */
export class ResumeMismatch extends Error {
  constructor(readonly savedRun: string, readonly thisRun: string) {
    super(`resume: the saved state belongs to other data or options (run ${savedRun}, this run ${thisRun})`);
    this.name = 'ResumeMismatch';
  }
}

/** Options that only decide when to stop: a resumed run may change them. */
const STOPPING: ReadonlySet<string> = new Set(['maxSweeps', 'patience', 'tol']);

/**
 * A digest of the prepared matrix (oriented, scaled, with its validation split) and of every
 * option that changes the numbers (all but the stopping rules): two FNV-1a-style hashes fed a row
 * at a time, so that a spilled load, which sees the rows a chunk at a time, names its run exactly
 * as the in-memory load of the same data does.
 */
export class RunHasher {
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193 ^ 0x5bd1e995;

  constructor(nRows: number, nCols: number, transposed: boolean) {
    this.#mix(nRows);
    this.#mix(nCols);
    this.#mix(transposed ? 1 : 0);
  }

  /** Row entries [p0, p1) of cols/values in ascending columns, held-out ones marked in held. */
  row(cols: Int32Array, values: Float64Array, held: Uint8Array | null, p0: number, p1: number): void {
    this.#mix(p1 - p0);
    const u = new Uint32Array(values.buffer, values.byteOffset + 8 * p0, 2 * (p1 - p0));
    for (let p = p0; p < p1; p++) {
      this.#mix(cols[p]! ^ (held !== null && held[p] === 1 ? 0x80000000 : 0));
      this.#mix(u[2 * (p - p0)]!);
      this.#mix(u[2 * (p - p0) + 1]!);
    }
  }

  /** The id under these options (the rows' state is left as it is, so it can be asked again). */
  digest(opts: EngineOptions): string {
    const [h1, h2] = [this.#h1, this.#h2];
    const numeric = Object.fromEntries(Object.entries(opts).filter(([k]) => !STOPPING.has(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
    for (const ch of JSON.stringify(numeric)) this.#mix(ch.charCodeAt(0));
    const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
    const id = hex(this.#h1) + hex(this.#h2);
    [this.#h1, this.#h2] = [h1, h2];
    return id;
  }

  #mix(w: number): void {
    this.#h1 = Math.imul(this.#h1 ^ w, 0x01000193);
    this.#h2 = Math.imul(this.#h2 ^ (w >>> 16 | w << 16), 0x5bd1e995) ^ (this.#h2 >>> 13);
  }
}

/** runId of prepared data held in memory: all its rows through RunHasher, the held-out entries marked. */
export function runId(data: PreparedData, opts: EngineOptions): string {
  const { all } = data;
  const h = new RunHasher(all.nRows, all.nCols, data.transposed);
  const held = new Uint8Array(all.values.length);
  let v = 0;
  for (let i = 0; i < all.nRows; i++) {
    for (let p = all.rowPtr[i]!; p < all.rowPtr[i + 1]!; p++) {
      if (v < data.valRow.length && data.valRow[v] === i && data.valCol[v] === all.colIdx[p]) {
        held[p] = 1;
        v++;
      }
    }
    h.row(all.colIdx, all.values, held, all.rowPtr[i]!, all.rowPtr[i + 1]!);
  }
  return h.digest(opts);
}
