// Seeded sparse linear regression problems y = X beta* + noise with a Gaussian design.

import { Rng, shuffleInt32 } from '../../kernels/index.ts';
import type { RegressionProblem } from './types.ts';

export interface SparseRegressionOptions {
  n: number;
  d: number;
  /** Nonzeros of beta*. */
  s: number;
  seed: number;
  /** 'gaussian' (default): nonzeros N(0, 1); 'sign': nonzeros +-1 with equal probability. */
  values?: 'gaussian' | 'sign';
  /** Standard deviation of the Gaussian noise added to y (default 0: noiseless). */
  noise?: number;
}

export interface SparseRegressionProblem extends RegressionProblem {
  options: Required<SparseRegressionOptions>;
  beta: Float64Array;
  /** The support of beta*, ascending. */
  support: Int32Array;
}

/**
 * X has i.i.d. N(0, 1) entries (not N(0, 1/n): the solvers are scale-aware, and unit entries keep
 * X^T y comparable across n). beta*, X and the noise come from three separate streams of the seed,
 * and X is drawn row by row, so the problem with n rows is exactly the first n rows of the problem
 * with more: a sweep over n grows one design instead of drawing unrelated ones.
 */
export function sparseRegression(opts: SparseRegressionOptions): SparseRegressionProblem {
  const { n, d, s, seed } = opts;
  const values = opts.values ?? 'gaussian';
  const noise = opts.noise ?? 0;
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`sparseRegression: n and d must be integers >= 1, got n = ${n}, d = ${d}`);
  }
  if (!(Number.isInteger(s) && s >= 0 && s <= d)) throw new RangeError(`sparseRegression: s must be an integer in [0, ${d}], got ${s}`);
  if (!(noise >= 0)) throw new RangeError(`sparseRegression: noise must be >= 0, got ${noise}`);

  const truthRng = new Rng(streamSeed(seed, 0));
  const idx = new Int32Array(d);
  for (let j = 0; j < d; j++) idx[j] = j;
  shuffleInt32(d, idx, truthRng);
  const support = idx.slice(0, s).sort();
  const beta = new Float64Array(d);
  for (let t = 0; t < s; t++) {
    beta[support[t]!] = values === 'sign' ? (truthRng.uniform() < 0.5 ? -1 : 1) : truthRng.normal();
  }

  const designRng = new Rng(streamSeed(seed, 1));
  const X = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) X[i] = designRng.normal();

  const noiseRng = new Rng(streamSeed(seed, 2));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let t = 0; t < s; t++) v += X[i * d + support[t]!]! * beta[support[t]!]!;
    y[i] = noise > 0 ? v + noise * noiseRng.normal() : v;
  }
  return { n, d, X, y, beta, support, options: { n, d, s, seed, values, noise } };
}

// Distinct 32-bit seeds for the streams of one experiment seed (a multiplicative hash, not seed + k,
// so that seed 1's design stream is not seed 2's truth stream).
function streamSeed(seed: number, stream: number): number {
  return (Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(stream + 1, 0x7f4a7c15)) >>> 0;
}
