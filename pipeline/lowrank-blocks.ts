// The low-rank form's blocks (engine/lowrank.ts): the row solves, and the two phases of the AGOP
// operator G X, over arrays a run's threads share. Like the dense blocks, each block owns its
// outputs and sums them in a fixed order, so fixed block boundaries give fixed bits.

import type { Csr } from '../engine/csr.ts';
import {
  operatorCols, operatorRows, predictUnobserved, refitRows, solveRowsLowRank, type LowRankFit, type LowRankKernel,
} from '../engine/lowrank.ts';
import { biasSums, offsetInto } from '../engine/side-bias.ts';

/** A kernel and the fit made with it: the current sweep's, or the previous one kept for the extrapolation. */
export interface LowRankSlot {
  /** d x k, orthonormal columns. */
  U: Float64Array;
  w: Float64Array;
  /**
   * The fit: a next to the training values (empty when spilled: the chunk's a are recomputed from
   * bs, see refitRows), bs n x k.
   */
  a: Float64Array;
  bs: Float64Array;
}

/** The low-rank form's arrays of a run (over SharedArrayBuffers on a pool). */
export interface LowRankArrays {
  k: number;
  /** Columns of the blocks the operator is applied to (k + oversampling, at most d). */
  p: number;
  slots: LowRankSlot[];
  /**
   * The block X (d x p), T = U^T X (k x p), Z = Yhat X (n x p), the row groups' shares of PS (one
   * k x p each) and of c A^T Z (one d x p each), PS, and G X (d x p).
   */
  X: Float64Array;
  T: Float64Array;
  Z: Float64Array;
  P: Float64Array;
  YP: Float64Array;
  PS: Float64Array;
  Y: Float64Array;
  /** Side biases taken by the blocks themselves (a run in memory: engine/side-bias.ts), else null. */
  side: SideTargets | null;
}

/**
 * What the blocks of a run in memory with side biases share: the biases of the fit being solved,
 * the original training and held-out values its targets are taken from, and each operator row
 * group's share of the half step's sums (d each).
 */
export interface SideTargets {
  b: Float64Array;
  train0: Float64Array;
  val0: Float64Array;
  sums: Float64Array;
}

export type LowRankBlock =
  /**
   * Row solves of rows [r0, r1) with slot's kernel (tauK, lambda; uKey names its U for the threads'
   * resident copies), and the squared error of held-out entries [v0, v1). Rows are the training
   * matrix's in hand (a spilled run's chunk), g0 + r of the whole (bs). With lr.side, the rows'
   * targets (and those held-out entries') are taken with its biases first.
   */
  | { kind: 'lr-solve'; slot: number; uKey: number; tauK: number; lambda: number; r0: number; r1: number; v0: number; v1: number; g0: number }
  /**
   * Row group `part`, rows [r0, r1) (g0 + r of the whole, as lr-solve): Z = BS T + c A X with slot's
   * fit, and the group's shares of PS and c A^T Z.
   */
  | { kind: 'lr-rows'; slot: number; c: number; r0: number; r1: number; part: number; g0: number }
  /** Rows [j0, j1) of Y = G X = (U PS + the `groups` shares of c A^T Z) / n. */
  | { kind: 'lr-cols'; slot: number; j0: number; j1: number; groups: number; n: number }
  /** Row group `part`, rows [r0, r1): its share of the side biases' half step (biasSums) into lr.side.sums. */
  | { kind: 'lr-bias'; slot: number; c: number; r0: number; r1: number; part: number };

/** What a low-rank block reads besides its own arrays: the training matrix and the held-out entries. */
export interface LowRankInputs {
  d: number;
  train: Csr;
  /** A spilled run's chunk's a (the slots keep none). */
  a: Float64Array;
  valRow: Int32Array;
  valCol: Int32Array;
  valValue: Float64Array;
}

/** Slot s's fit over the rows in hand: its a (or the chunk's), bs from row g0 on. */
function fitOf(inp: LowRankInputs, s: LowRankSlot, c: number, g0: number, k: number): LowRankFit {
  return { a: s.a.length > 0 ? s.a : inp.a, bs: g0 > 0 ? s.bs.subarray(g0 * k) : s.bs, c };
}

export function runLowRankBlock(inp: LowRankInputs, lr: LowRankArrays, b: LowRankBlock): { fallbacks: number; se: number } {
  const { k, p } = lr;
  const slot = lr.slots[b.slot]!;
  switch (b.kind) {
    case 'lr-solve': {
      if (lr.side !== null) takeTargets(inp, lr.side, b.r0, b.r1, b.v0, b.v1);
      const K: LowRankKernel = { d: inp.d, k, U: slot.U, w: slot.w, tauK: b.tauK };
      const fit = fitOf(inp, slot, b.tauK + b.lambda, b.g0, k);
      const fallbacks = solveRowsLowRank(K, b.lambda, inp.train, fit, b.r0, b.r1, b.uKey);
      let se = 0;
      for (let e = b.v0; e < b.v1; e++) {
        const r = predictUnobserved(K, fit, inp.valRow[e]!, inp.valCol[e]!) - inp.valValue[e]!;
        se += r * r;
      }
      return { fallbacks, se };
    }
    case 'lr-rows': {
      const fit = fitOf(inp, slot, b.c, b.g0, k);
      if (slot.a.length === 0) refitRows(slot.U, k, fit, inp.train, b.r0, b.r1);
      const Z = b.g0 > 0 ? lr.Z.subarray(b.g0 * p) : lr.Z;
      operatorRows(k, fit, inp.train, lr.X, lr.T, p, Z, b.r0, b.r1, lr.P, b.part * k * p, lr.YP, b.part * inp.d * p);
      return { fallbacks: 0, se: 0 };
    }
    case 'lr-cols':
      operatorCols(slot.U, k, lr.PS, lr.YP, b.groups, p, b.j0, b.j1, lr.Y, b.n);
      return { fallbacks: 0, se: 0 };
    case 'lr-bias': {
      const { rowPtr, colIdx } = inp.train;
      const q0 = rowPtr[b.r0]!;
      const sums = biasSums(colIdx.subarray(q0), slot.a.subarray(q0), b.c, rowPtr[b.r1]! - q0, inp.d);
      lr.side!.sums.set(sums, b.part * inp.d);
      return { fallbacks: 0, se: 0 };
    }
  }
}

/** The targets of rows [r0, r1) and of held-out entries [v0, v1): the originals taken with the biases. */
function takeTargets(inp: LowRankInputs, side: SideTargets, r0: number, r1: number, v0: number, v1: number): void {
  const { rowPtr, colIdx, values } = inp.train;
  const q0 = rowPtr[r0]!;
  const q1 = rowPtr[r1]!;
  offsetInto(side.train0.subarray(q0, q1), colIdx.subarray(q0, q1), side.b, values.subarray(q0, q1), q1 - q0);
  offsetInto(side.val0.subarray(v0, v1), inp.valCol.subarray(v0, v1), side.b, inp.valValue.subarray(v0, v1), v1 - v0);
}

/**
 * A spilled chunk's share of the operator's row phase, from its `groups` row groups' shares (P k x p
 * and YP d x p each, from group `from` on), added in group order: out holds the share of PS, then
 * that of c A^T Z. A chunk's share is the same bits wherever its groups ran (here, or on a worker
 * of the cluster), and the chunks' shares are added up in chunk order.
 */
export function chunkShare(P: Float64Array, YP: Float64Array, from: number, groups: number, kp: number, dp: number, out: Float64Array): Float64Array {
  out.fill(0);
  for (let g = from; g < from + groups; g++) {
    for (let e = 0; e < kp; e++) out[e] += P[g * kp + e]!;
    for (let e = 0; e < dp; e++) out[kp + e] += YP[g * dp + e]!;
  }
  return out;
}
