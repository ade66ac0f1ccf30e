// --kernel-rank auto: the low-rank kernel's rank chosen from the AGOP's spectrum during the run
// (docs/DESIGN.md, "Choosing the rank"), and a kernel cut or padded to the chosen rank.

import type { Rng } from '../kernels/random.ts';
import type { TopEigen } from './lowrank.ts';

/** Directions count as signal down to this share of the top Ritz value. */
export const RANK_SIGNAL_SHARE = 1e-2;
/** A cut is clear when the last signal value is at least this many times the next one. */
export const RANK_GAP = 4;
/** The first sweep whose spectrum may decide (the first sweeps' kernels are still close to I). */
export const RANK_FIRST_SWEEP = 2;
/** The sweep at which the rank is decided whatever the spectrum shows. */
export const RANK_LAST_SWEEP = 8;

export interface RankDecision {
  rank: number;
  why: string;
}

/**
 * The rank for the next kernel, from all Ritz values of the sweep's block (descending) at rank k,
 * or null while undecided. With r the Ritz values at or above RANK_SIGNAL_SHARE of the top: when
 * r < k and the r-th is at least RANK_GAP times the (r+1)-th, the rank becomes r (the directions
 * past the gap are noise the kernel would otherwise amplify); at RANK_LAST_SWEEP without such a cut,
 * the rank grows to `cap` when all k values are signal (the tail is not small against the top), and
 * stays k otherwise.
 */
export function chooseRank(ritz: Float64Array, k: number, cap: number, sweep: number): RankDecision | null {
  if (sweep < RANK_FIRST_SWEEP) return null;
  const top = ritz[0] ?? 0;
  if (!(top > 0)) return sweep >= RANK_LAST_SWEEP ? { rank: k, why: `the spectrum is zero at sweep ${sweep + 1}; rank ${k} kept` } : null;
  let r = 0;
  while (r < ritz.length && ritz[r]! >= RANK_SIGNAL_SHARE * top) r++;
  const share = (x: number): string => (x / top).toExponential(1);
  if (r >= 1 && r < k && ritz[r - 1]! >= RANK_GAP * ritz[r]!) {
    return { rank: r, why: `at sweep ${sweep + 1}, ${r} Ritz values are above ${RANK_SIGNAL_SHARE} of the top and the next is ${share(ritz[r]!)} of it: rank ${r}` };
  }
  if (sweep < RANK_LAST_SWEEP) return null;
  if (r >= k && cap > k) {
    return { rank: cap, why: `at sweep ${sweep + 1}, all ${k} Ritz values are above ${RANK_SIGNAL_SHARE} of the top (tail not separated): rank grows to the cap ${cap}` };
  }
  return { rank: k, why: `at sweep ${sweep + 1}, no clear cut in the spectrum below rank ${k} (${r} values above ${RANK_SIGNAL_SHARE} of the top): rank ${k} kept` };
}

/**
 * The sweep's eigenpairs at rank `rank`: cut to the top `rank` (the tail level becomes the next
 * Ritz value), or padded with seeded Gaussian columns of eigenvalue 0 (so the kernel is unchanged
 * and the next subspace iteration starts from a full block).
 */
export function eigenAtRank(e: TopEigen, d: number, rank: number, rng: Rng): TopEigen {
  const k = e.s.length;
  const U = new Float64Array(d * rank);
  const s = new Float64Array(rank);
  const keep = Math.min(k, rank);
  for (let j = 0; j < d; j++) {
    for (let r = 0; r < rank; r++) U[j * rank + r] = r < keep ? e.U[j * k + r]! : rng.normal();
  }
  s.set(e.s.subarray(0, keep));
  const tau = rank < k ? e.ritz[rank] ?? 0 : e.tau;
  return { U, s, tau, ritz: e.ritz };
}

/** The rank of a kernel packed by packKernel ([tauK, w (k), U (d x k)]). */
export function packedRank(packed: Float64Array, d: number): number {
  return (packed.length - 1) / (d + 1);
}
