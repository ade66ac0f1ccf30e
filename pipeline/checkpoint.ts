// The engine's state between two sweeps: everything the next sweep depends on, so that a run
// stopped after any sweep and resumed from this state ends with the same bits as one that never
// stopped. The kernel's coefficients are not state: each sweep recomputes them from the kernel.

import { type Csr } from './csr.ts';
import type { EngineOptions, SweepInfo } from './engine.ts';

export interface EngineState {
  /** Sweeps finished; the next sweep to run has this number. */
  sweepsDone: number;
  d: number;
  /** Names the data and the options the state belongs to (see runId). */
  runId: string;
  lambda: number;
  bestMse: number;
  bestSweep: number;
  bestLambda: number;
  prevMse: number;
  /** The adaptive schedule's plateau watch: the validation MSE at the last cut or 1% gain, and sweeps since. */
  plateauMse: number;
  plateauSweeps: number;
  restarts: number;
  sinceRestart: number;
  havePrev: boolean;
  history: SweepInfo[];
  /** The kernel the next sweep fits with, d x d. */
  K: Float64Array;
  /** The kernel of the best sweep so far. */
  best: Float64Array;
  /** G of the last sweep for the extrapolation (its power G^(2 alpha) when 2 alpha < 1); length 0 without momentum. */
  Gprev: Float64Array;
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

/** Options that only decide when to stop: a resumed run may change them. */
const STOPPING: ReadonlySet<string> = new Set(['maxSweeps', 'patience', 'tol']);

/**
 * A digest of the input matrix and of every option that changes the numbers (all but the stopping
 * rules): two FNV-1a hashes over the CSR arrays' bytes and the options' JSON.
 */
export function runId(input: Csr, opts: EngineOptions): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const mix = (w: number): void => {
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ (w >>> 16 | w << 16), 0x5bd1e995) ^ (h2 >>> 13);
  };
  const words = (a: Int32Array | Float64Array): void => {
    const u = new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
    for (let i = 0; i < u.length; i++) mix(u[i]!);
  };
  mix(input.nRows);
  mix(input.nCols);
  words(input.rowPtr);
  words(input.colIdx);
  words(input.values);
  const numeric = Object.fromEntries(Object.entries(opts).filter(([k]) => !STOPPING.has(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
  for (const ch of JSON.stringify(numeric)) mix(ch.charCodeAt(0));
  const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
  return hex(h1) + hex(h2);
}
