// The Newton-Schulz square root against the eigendecomposition path and against squaring back.

import { describe, expect, it } from 'vitest';
import { dsympow } from '../../kernels/eig.ts';
import { dgemm } from '../../kernels/index.ts';
import { dsqrtmNewtonSchulz } from '../../kernels/sqrtm.ts';

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** B B^T / n + shift I with B n x r: rank r plus a floor (a Gram matrix like lin-RFM's AGOP). */
function gram(n: number, r: number, shift: number, seed: number): Float64Array {
  const rnd = mulberry(seed);
  const B = Float64Array.from({ length: n * r }, () => rnd() - 0.5);
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

describe('dsqrtmNewtonSchulz', () => {
  for (const [n, r, shift, seed, tolerance] of [
    [40, 40, 0.1, 3, 1e-10],
    [60, 5, 1e-3, 4, 1e-8],
    [25, 25, 2, 5, 1e-10],
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

  it('n = 0 and the zero matrix', () => {
    expect(dsqrtmNewtonSchulz(0, new Float64Array(0), new Float64Array(0), new Float64Array(0))).toBe(0);
    const out = new Float64Array(4).fill(7);
    expect(dsqrtmNewtonSchulz(2, new Float64Array(4), out, new Float64Array(16))).toBe(0);
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
  });
});
