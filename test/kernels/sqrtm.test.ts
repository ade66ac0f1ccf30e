// The scaled Newton-Schulz square root against eigendecompositions (ours and ml-matrix's), squaring back,
// its shifted and corrected form, its a-priori step count, its failure check, and the half products.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { dsympow } from '../../kernels/eig.ts';
import { dgemm } from '../../kernels/index.ts';
import { Rng } from '../../kernels/random.ts';
import { dsqrtmNewtonSchulz, dsymprod, newtonSchulzSteps, newtonSchulzWork, releaseNewtonSchulzWork } from '../../kernels/sqrtm.ts';

/** B B^T / n + shift I with B n x r standard normal: rank r plus a floor (a Gram matrix like lin-RFM's AGOP). */
function gram(n: number, r: number, shift: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const B = Float64Array.from({ length: n * r }, () => rng.normal());
  const A = new Float64Array(n * n);
  dgemm(false, true, n, n, r, 1 / n, B, r, 0, B, r, 0, 0, A, n, 0);
  for (let i = 0; i < n; i++) A[i * n + i] += shift;
  return A;
}

function maxRel(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let q = 0; q < a.length; q++) {
    num = Math.max(num, Math.abs(a[q]! - b[q]!));
    den = Math.max(den, Math.abs(b[q]!));
  }
  return num / den;
}

function maxAbs(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let q = 0; q < a.length; q++) m = Math.max(m, Math.abs(a[q]! - b[q]!));
  return m;
}

/** V f(w) V^T by ml-matrix's eigendecomposition (independent of kernels/eig.ts). */
function spectralMap(n: number, A: Float64Array, f: (x: number) => number): Float64Array {
  const M = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M.set(i, j, A[i * n + j]!);
  const e = new EigenvalueDecomposition(M, { assumeSymmetric: true });
  const V = e.eigenvectorMatrix;
  const R = V.mmul(Matrix.diag(e.realEigenvalues.map(f))).mmul(V.transpose());
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = R.get(i, j);
  return out;
}

describe('dsqrtmNewtonSchulz', () => {
  for (const [n, r, shift, seed, tolerance] of [
    [40, 40, 0.1, 3, 1e-10],
    [60, 5, 1e-3, 4, 1e-8],
    [25, 25, 2, 5, 1e-10],
    // n >= 128: the half (lower-triangle) products of the early steps
    [150, 150, 1e-2, 6, 1e-9],
  ] as const) {
    it(`matches the eigendecomposition root: n ${n}, rank ${r} + ${shift} I, seed ${seed} (tolerance ${tolerance})`, () => {
      const A = gram(n, r, shift, seed);
      const ns = new Float64Array(n * n);
      const iters = dsqrtmNewtonSchulz(n, A, ns, new Float64Array(4 * n * n));
      expect(iters).toBeGreaterThan(0);
      const eig = new Float64Array(n * n);
      expect(dsympow(n, A, n, 0, 0.5, eig, n, 0, new Float64Array(n * n), new Float64Array(n), new Float64Array(n))).toBe(0);
      expect(maxRel(ns, eig)).toBeLessThan(tolerance);
      // and it squares back to A
      const sq = new Float64Array(n * n);
      dgemm(false, false, n, n, n, 1, ns, n, 0, ns, n, 0, 0, sq, n, 0);
      expect(maxRel(sq, A)).toBeLessThan(tolerance);
      // exactly symmetric
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(ns[i * n + j]).toBe(ns[j * n + i]);
    });
  }

  // A singular Gram matrix (rank 5): the shifted root with the first-order correction, against
  // ml-matrix's V f(w) V^T with f(x) = (2 x + mu) / (2 sqrt(x + mu)) to 1e-8 (the tolerance-stopped
  // iteration), and against the exact root G^(1/2) to the stated bound sqrt(mu) / 2 (f(0) = sqrt(mu) / 2).
  for (const [n, mu, seed] of [
    [80, 1e-4, 11],
    [140, 1e-6, 12],
  ] as const) {
    it(`shifted and corrected root of a rank-5 Gram matrix: n ${n}, mu ${mu}, seed ${seed}`, () => {
      const G = gram(n, 5, 0, seed);
      const out = new Float64Array(n * n);
      const steps = dsqrtmNewtonSchulz(n, G, out, newtonSchulzWork(4 * n * n), { shift: mu, lower: mu / 2, unshift: true, tol: 1e-10 });
      expect(steps).toBeGreaterThan(0);
      // the a-priori count with ||G + mu I||_F for the (smaller) bound the kernel uses: never fewer
      let f2 = 0;
      for (let q = 0; q < n * n; q++) f2 += (G[q]! + (q % (n + 1) === 0 ? mu : 0)) ** 2;
      expect(steps).toBeLessThanOrEqual(newtonSchulzSteps(mu / 2 / Math.sqrt(f2), 1e-10));
      const ref = spectralMap(n, G, (x) => (2 * Math.max(x, 0) + mu) / (2 * Math.sqrt(Math.max(x, 0) + mu)));
      expect(maxRel(out, ref)).toBeLessThan(1e-8);
      const exact = spectralMap(n, G, (x) => Math.sqrt(Math.max(x, 0)));
      expect(maxAbs(out, exact)).toBeLessThanOrEqual(0.5 * Math.sqrt(mu) * 1.001);
    });
  }

  it('reports failure (-1) for an indefinite matrix the shift does not cover, seed 21', () => {
    const n = 30;
    const A = gram(n, 5, 0, 21);
    // one eigenvalue -1e-2 along e_0 + e_1
    A[0] -= 5e-3;
    A[1] -= 5e-3;
    A[n] -= 5e-3;
    A[n + 1] -= 5e-3;
    const out = new Float64Array(n * n);
    expect(dsqrtmNewtonSchulz(n, A, out, new Float64Array(4 * n * n), { shift: 1e-4, lower: 5e-5 })).toBe(-1);
  });

  it('the step count follows the interval recursion: monotone in the ratio, none at ratio 1', () => {
    expect(newtonSchulzSteps(1)).toBe(0);
    let prev = 0;
    for (const ratio of [1e-1, 1e-2, 1e-4, 1e-8, 1e-12, 1e-16]) {
      const k = newtonSchulzSteps(ratio, 1e-10);
      expect(k).toBeGreaterThanOrEqual(prev);
      prev = k;
    }
    // ~log(1 / sqrt(ratio)) / log(2.6) steps plus ~4 quadratic ones
    expect(newtonSchulzSteps(1e-8, 1e-10)).toBeLessThanOrEqual(15);
    expect(newtonSchulzSteps(1e-16, 1e-10)).toBeLessThanOrEqual(24);
  });

  it('the shared work area grows, is reused, and can be released', () => {
    const a = newtonSchulzWork(64);
    expect(a.length).toBeGreaterThanOrEqual(64);
    expect(newtonSchulzWork(32)).toBe(newtonSchulzWork(64));
    releaseNewtonSchulzWork();
    expect(newtonSchulzWork(16).length).toBeGreaterThanOrEqual(16);
    releaseNewtonSchulzWork();
  });

  it('n = 0 and the zero matrix', () => {
    expect(dsqrtmNewtonSchulz(0, new Float64Array(0), new Float64Array(0), new Float64Array(0))).toBe(0);
    const out = new Float64Array(4).fill(7);
    expect(dsqrtmNewtonSchulz(2, new Float64Array(4), out, new Float64Array(16))).toBe(0);
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
  });
});

describe('dsymprod (lower-triangle product of commuting symmetric matrices)', () => {
  for (const n of [50, 130, 150]) {
    it(`equals the full product to 1e-13 relative and is exactly symmetric: n ${n}, seed 31`, () => {
      const G = gram(n, n, 0.5, 31);
      // A = G, B = 2 G^2 - G: polynomials in G commute
      const G2 = new Float64Array(n * n);
      dgemm(false, false, n, n, n, 1, G, n, 0, G, n, 0, 0, G2, n, 0);
      const B = G2.map((v, q) => 2 * v - G[q]!);
      const full = new Float64Array(n * n);
      dgemm(false, false, n, n, n, 0.7, G, n, 0, B, n, 0, 0, full, n, 0);
      const half = new Float64Array(n * n);
      expect(dsymprod(n, 0.7, G, B, half)).toBe(half);
      expect(maxRel(half, full)).toBeLessThan(1e-13);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(half[i * n + j]).toBe(half[j * n + i]);
    });
  }
});
