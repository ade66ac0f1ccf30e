// Similar items from a model's kernel: the kernel is a learned column-column similarity, and the
// cosine of two of its columns, cos(K_i, K_j) = (K^2)_ij / sqrt((K^2)_ii (K^2)_jj), ranks a
// column's neighbours. Dense: (K^2)_ij = K_i . K_j. Low-rank, K = U diag(w) U^T + tauK I:
// K^2 = U diag(w^2 + 2 tauK w) U^T + tauK^2 I, so a column's similarities cost d k.

import type { LowRankKernel } from './lowrank.ts';

/** The kernel of a model: d x d row-major (symmetric), or its low-rank form. */
export interface KernelOf {
  d: number;
  K: Float64Array;
  lowRank?: LowRankKernel;
}

/** Each asked column's `k` most similar other columns, best first (ties: lower column first). */
export interface SimilarLists {
  items: Int32Array;
  similar: Int32Array;
  cosine: Float64Array;
  rank: Int32Array;
}

/** (K^2)_ij for all j of one i, and the diagonal of K^2, in either form. */
function squareKernel(m: KernelOf): { row(i: number, out: Float64Array): void; diag: Float64Array } {
  const { d } = m;
  const diag = new Float64Array(d);
  const lr = m.lowRank;
  if (lr !== undefined) {
    const { k, U, w, tauK } = lr;
    const g = Float64Array.from(w, (x) => x * x + 2 * tauK * x);
    for (let j = 0; j < d; j++) {
      let s = tauK * tauK;
      for (let r = 0; r < k; r++) s += g[r]! * U[j * k + r]! ** 2;
      diag[j] = s;
    }
    const gu = new Float64Array(k);
    return {
      diag,
      row(i, out) {
        for (let r = 0; r < k; r++) gu[r] = g[r]! * U[i * k + r]!;
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let r = 0; r < k; r++) s += gu[r]! * U[j * k + r]!;
          out[j] = s;
        }
        out[i] = out[i]! + tauK * tauK;
      },
    };
  }
  const K = m.K;
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let l = 0; l < d; l++) s += K[l * d + j]! ** 2;
    diag[j] = s;
  }
  return {
    diag,
    // K symmetric: (K^2)_ij = sum_l K_il K_lj, row i of K against the rows l
    row(i, out) {
      out.fill(0);
      for (let l = 0; l < d; l++) {
        const a = K[i * d + l]!;
        if (a === 0) continue;
        for (let j = 0; j < d; j++) out[j] = out[j]! + a * K[l * d + j]!;
      }
    },
  };
}

/** The `k` columns most similar to each of `items` (itself excluded) by the cosine of the kernel's columns. */
export function similarColumns(m: KernelOf, items: Int32Array, k: number): SimilarLists {
  const { d } = m;
  const per = Math.min(k, d - 1);
  const sq = squareKernel(m);
  const row = new Float64Array(d);
  const n = items.length * per;
  const out: SimilarLists = { items: new Int32Array(n), similar: new Int32Array(n), cosine: new Float64Array(n), rank: new Int32Array(n) };
  let e = 0;
  for (const i of items) {
    if (!(i >= 0 && i < d)) throw new RangeError(`similarColumns: column ${i} is outside 0..${d - 1}`);
    sq.row(i, row);
    const ni = Math.sqrt(sq.diag[i]!);
    for (let j = 0; j < d; j++) {
      const nj = Math.sqrt(sq.diag[j]!);
      row[j] = ni > 0 && nj > 0 ? row[j]! / (ni * nj) : 0;
    }
    const cand = Array.from({ length: d - 1 }, (_, q) => (q < i ? q : q + 1));
    cand.sort((a, b) => row[b]! - row[a]! || a - b);
    for (let r = 0; r < per; r++) {
      out.items[e] = i;
      out.similar[e] = cand[r]!;
      out.cosine[e] = row[cand[r]!]!;
      out.rank[e++] = r + 1;
    }
  }
  return out;
}
