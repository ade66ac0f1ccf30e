// Tests for kernels/blas.ts against brute-force loops, over strides, offsets, edges and transposes;
// the dgemm and dsyrk suites run against every implementation (TypeScript and WASM SIMD).
import { describe, it, expect } from 'vitest';
import { ddot, daxpy } from '../../kernels/blas.ts';
import { implementations } from '../../kernels/index.ts';
import {
  SEEDS, makeRng, randDense, transpose, matmul, pack, unpack, packVec, unpackVec,
  strayWrites, relErr, SENTINEL, type Dense,
} from './helpers.ts';

// Tolerances: max |got - want| / max(1, max |want|). Inputs are N(0, 1), sums have <= 300 terms,
// so rounding differences from reordered summation stay near 1e-14; 1e-12 leaves ample margin.
const TOL = 1e-12;

const STRIDES: Array<[number, number]> = [[1, 1], [2, 3], [3, 1], [-1, 2], [-2, -3]];

function vecLayout(n: number, stride: number, base: number): number {
  // A negative stride walks backwards, so the first element sits at the far end.
  return stride >= 0 ? base : base + (n - 1) * -stride;
}

describe('ddot', () => {
  for (const seed of SEEDS) {
    it(`matches a plain loop over strides and offsets (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 100]) {
        for (const [sx, sy] of STRIDES) {
          const xv = randDense(rng, 1, n)[0]!, yv = randDense(rng, 1, n)[0]!;
          const ox = vecLayout(n, sx, 2), oy = vecLayout(n, sy, 5);
          const x = packVec(xv, sx, ox), y = packVec(yv, sy, oy);
          let want = 0, mag = 0;
          for (let i = 0; i < n; i++) {
            want += xv[i]! * yv[i]!;
            mag += Math.abs(xv[i]! * yv[i]!);
          }
          const got = ddot(n, x, sx, ox, y, sy, oy);
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-14 * Math.max(1, mag));
        }
      }
    });
  }

  it('returns 0 for n = 0 and n < 0', () => {
    const x = new Float64Array([1, 2]);
    expect(ddot(0, x, 1, 0, x, 1, 0)).toBe(0);
    expect(ddot(-3, x, 1, 0, x, 1, 0)).toBe(0);
  });
});

describe('daxpy', () => {
  for (const seed of SEEDS) {
    it(`y += alpha x over strides and offsets, nothing else touched (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of [1, 2, 5, 17]) {
        for (const [sx, sy] of STRIDES) {
          const xv = randDense(rng, 1, n)[0]!, yv = randDense(rng, 1, n)[0]!;
          const alpha = rng.normal();
          const ox = vecLayout(n, sx, 1), oy = vecLayout(n, sy, 4);
          const x = packVec(xv, sx, ox), y = packVec(yv, sy, oy);
          const x0 = x.slice(), y0 = y.slice();
          const ret = daxpy(n, alpha, x, sx, ox, y, sy, oy);
          expect(ret).toBe(y);
          expect(x).toEqual(x0);
          const got = unpackVec(y, n, sy, oy);
          for (let i = 0; i < n; i++) expect(got[i]).toBe(yv[i]! + alpha * xv[i]!);
          // Everything y does not address is unchanged.
          const addressed = new Set<number>();
          for (let i = 0; i < n; i++) addressed.add(oy + i * sy);
          for (let t = 0; t < y.length; t++) if (!addressed.has(t)) expect(y[t]).toBe(y0[t]);
        }
      }
    });
  }

  it('is a no-op for n = 0 and for alpha = 0, returning y', () => {
    const x = new Float64Array([NaN, 2]), y = new Float64Array([3, 4]);
    expect(daxpy(0, 2, x, 1, 0, y, 1, 0)).toBe(y);
    expect(daxpy(2, 0, x, 1, 0, y, 1, 0)).toBe(y);
    expect(Array.from(y)).toEqual([3, 4]);
  });
});

function gemmRef(ta: boolean, tb: boolean, alpha: number, A: Dense, B: Dense, beta: number, C: Dense): Dense {
  const P = matmul(ta ? transpose(A) : A, tb ? transpose(B) : B);
  return P.map((r, i) => r.map((v, j) => alpha * v + (beta === 0 ? 0 : beta * C[i]![j]!)));
}

// Every implementation of dgemm/dsyrk, by name. The WASM one throws when it was not built, which
// fails its suite loudly instead of skipping it (see also test/kernels/wasm.test.ts).
const IMPLS = Object.entries(implementations);

// (m, n, k): ragged 4x4 tiles, and sizes that cross each blocking boundary (MC = 64, NC = KC = 256).
const GEMM_SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 5, 3], [5, 1, 2], [4, 4, 4], [5, 7, 3], [8, 8, 9], [13, 9, 17],
  [70, 9, 11], [6, 261, 5], [9, 6, 300],
];
// Larger shapes for every blocking edge of both implementations: blas.ts blocks by MC = 64,
// NC = KC = 256; the WASM kernels by MC = 128, KC = 256, NC = 2048 with 4 x 4 micro-tiles (sizes
// one below, at and one above each block; 2051 columns cross NC; 513 crosses KC twice).
const GEMM_EDGE_SHAPES: Array<[number, number, number]> = [
  [63, 65, 257], [65, 64, 63], [129, 5, 257], [3, 257, 64], [257, 63, 5], [128, 128, 256],
  [127, 3, 1], [5, 2051, 3], [2, 3, 513], [1, 1, 600],
];
const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];

describe.each(IMPLS)('dgemm (%s)', (_impl, { dgemm }) => {
  for (const seed of SEEDS) {
    for (const [ta, tb] of TRANSPOSES) {
      it(`transA=${ta} transB=${tb}: matches a triple loop with padding and offsets (seed ${seed})`, () => {
        const rng = makeRng(seed);
        for (const [m, n, k] of GEMM_SHAPES) {
          const A = ta ? randDense(rng, k, m) : randDense(rng, m, k);
          const B = tb ? randDense(rng, n, k) : randDense(rng, k, n);
          const C = randDense(rng, m, n);
          const alpha = rng.normal(), beta = rng.normal();
          const aCols = ta ? m : k, bCols = tb ? k : n;
          const lda = aCols + 2, ldb = bCols + 1, ldc = n + 3;
          const oa = 3, ob = 1, oc = 5;
          const a = pack(A, lda, oa), b = pack(B, ldb, ob), c = pack(C, ldc, oc);
          const a0 = a.slice(), b0 = b.slice();
          const ret = dgemm(ta, tb, m, n, k, alpha, a, lda, oa, b, ldb, ob, beta, c, ldc, oc);
          expect(ret).toBe(c);
          const want = gemmRef(ta, tb, alpha, A, B, beta, C);
          const err = relErr(unpack(c, m, n, ldc, oc), want);
          expect(err, `m=${m} n=${n} k=${k}`).toBeLessThan(TOL);
          expect(strayWrites(c, m, n, ldc, oc)).toBe(0);
          expect(a).toEqual(a0);
          expect(b).toEqual(b0);
        }
      });
    }
  }

  for (const [ta, tb] of TRANSPOSES) {
    it(`transA=${ta} transB=${tb}: blocking edges, with padding and offsets (seed 5)`, () => {
      const rng = makeRng(5);
      for (const [m, n, k] of GEMM_EDGE_SHAPES) {
        const A = ta ? randDense(rng, k, m) : randDense(rng, m, k);
        const B = tb ? randDense(rng, n, k) : randDense(rng, k, n);
        const C = randDense(rng, m, n);
        const alpha = rng.normal(), beta = rng.normal();
        const lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
        const a = pack(A, lda, 2), b = pack(B, ldb, 3), c = pack(C, ldc, 1);
        expect(dgemm(ta, tb, m, n, k, alpha, a, lda, 2, b, ldb, 3, beta, c, ldc, 1)).toBe(c);
        const err = relErr(unpack(c, m, n, ldc, 1), gemmRef(ta, tb, alpha, A, B, beta, C));
        expect(err, `m=${m} n=${n} k=${k}`).toBeLessThan(TOL);
        expect(strayWrites(c, m, n, ldc, 1), `m=${m} n=${n} k=${k}`).toBe(0);
      }
    });
  }

  it('beta = 0 overwrites NaN and Inf garbage in C (all transpose cases)', () => {
    const rng = makeRng(7);
    for (const [ta, tb] of TRANSPOSES) {
      const m = 6, n = 5, k = 7;
      const A = randDense(rng, ta ? k : m, ta ? m : k), B = randDense(rng, tb ? n : k, tb ? k : n);
      const c = new Float64Array(m * n);
      for (let t = 0; t < c.length; t++) c[t] = t % 2 === 0 ? NaN : Infinity;
      dgemm(ta, tb, m, n, k, 1.5, pack(A, A[0]!.length, 0, 0), A[0]!.length, 0,
        pack(B, B[0]!.length, 0, 0), B[0]!.length, 0, 0, c, n, 0);
      const unused: Dense = [];
      const want = gemmRef(ta, tb, 1.5, A, B, 0, unused);
      expect(relErr(unpack(c, m, n, n, 0), want)).toBeLessThan(TOL);
    }
  });

  it('beta = 0 with k = 0 or alpha = 0 zeroes C; alpha = 0 never reads A or B', () => {
    const c = new Float64Array([NaN, 1, 2, Infinity]);
    dgemm(false, false, 2, 2, 0, 1, new Float64Array(0), 1, 0, new Float64Array(0), 1, 0, 0, c, 2, 0);
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
    const nan = new Float64Array(4).fill(NaN);
    const c2 = new Float64Array([1, 2, 3, 4]);
    dgemm(false, false, 2, 2, 2, 0, nan, 2, 0, nan, 2, 0, 2, c2, 2, 0);
    expect(Array.from(c2)).toEqual([2, 4, 6, 8]);
  });

  it('m = 0 or n = 0 is a no-op returning C; k = 0 scales C by beta', () => {
    const c = new Float64Array([1, 2, 3, 4]);
    const empty = new Float64Array(0);
    expect(dgemm(false, false, 0, 2, 2, 1, empty, 2, 0, empty, 2, 0, 0, c, 2, 0)).toBe(c);
    expect(dgemm(true, true, 2, 0, 2, 1, empty, 2, 0, empty, 2, 0, 0, c, 2, 0)).toBe(c);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    expect(dgemm(false, true, 2, 2, 0, 1, empty, 1, 0, empty, 1, 0, 3, c, 2, 0)).toBe(c);
    expect(Array.from(c)).toEqual([3, 6, 9, 12]);
  });
});

function syrkRef(trans: boolean, alpha: number, A: Dense, beta: number, C: Dense): Dense {
  const G = trans ? matmul(transpose(A), A) : matmul(A, transpose(A));
  return G.map((r, i) => r.map((v, j) => {
    // Only the lower triangle of C is an input; the result mirrors it.
    const old = i >= j ? C[i]![j]! : C[j]![i]!;
    return alpha * v + (beta === 0 ? 0 : beta * old);
  }));
}

// (n, k): ragged and diagonal tiles, and the blocking boundaries.
const SYRK_SHAPES: Array<[number, number]> = [
  [1, 1], [1, 4], [3, 1], [4, 4], [5, 3], [8, 9], [13, 17], [70, 11], [261, 3], [9, 300],
];
// The blocking edges of both implementations (see GEMM_EDGE_SHAPES); 256 is the engine's chunk
// depth. n = 2050 (crossing the WASM NC) has its own cheaper test below.
const SYRK_EDGE_SHAPES: Array<[number, number]> = [
  [63, 257], [64, 256], [65, 255], [127, 5], [129, 64], [257, 3],
];

describe.each(IMPLS)('dsyrk (%s)', (_impl, { dsyrk }) => {
  for (const seed of SEEDS) {
    for (const trans of [false, true]) {
      it(`trans=${trans}: matches the triple loop, exactly symmetric, upper input ignored (seed ${seed})`, () => {
        const rng = makeRng(seed);
        for (const [n, k] of SYRK_SHAPES) {
          const A = trans ? randDense(rng, k, n) : randDense(rng, n, k);
          const C = randDense(rng, n, n);
          const alpha = rng.normal(), beta = rng.normal();
          const lda = (trans ? n : k) + 3, ldc = n + 2, oa = 4, oc = 1;
          const a = pack(A, lda, oa), c = pack(C, ldc, oc);
          // The strict upper triangle of C is documented as not read: poison it.
          for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) c[oc + i * ldc + j] = NaN;
          const a0 = a.slice();
          const ret = dsyrk(trans, n, k, alpha, a, lda, oa, beta, c, ldc, oc);
          expect(ret).toBe(c);
          const got = unpack(c, n, n, ldc, oc);
          expect(relErr(got, syrkRef(trans, alpha, A, beta, C)), `n=${n} k=${k}`).toBeLessThan(TOL);
          let asymmetric = 0;
          for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i]![j] !== got[j]![i]) asymmetric++;
          expect(asymmetric).toBe(0);
          expect(strayWrites(c, n, n, ldc, oc)).toBe(0);
          expect(a).toEqual(a0);
        }
      });
    }
  }

  for (const trans of [false, true]) {
    it(`trans=${trans}: blocking edges, exactly symmetric, nothing outside C written (seed 6)`, () => {
      const rng = makeRng(6);
      for (const [n, k] of SYRK_EDGE_SHAPES) {
        const A = trans ? randDense(rng, k, n) : randDense(rng, n, k);
        const C = randDense(rng, n, n);
        const alpha = rng.normal(), beta = rng.normal();
        const lda = (trans ? n : k) + 1, ldc = n + 1, oa = 2, oc = 3;
        const a = pack(A, lda, oa), c = pack(C, ldc, oc);
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) c[oc + i * ldc + j] = NaN;
        expect(dsyrk(trans, n, k, alpha, a, lda, oa, beta, c, ldc, oc)).toBe(c);
        const got = unpack(c, n, n, ldc, oc);
        expect(relErr(got, syrkRef(trans, alpha, A, beta, C)), `n=${n} k=${k}`).toBeLessThan(TOL);
        let asymmetric = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i]![j] !== got[j]![i]) asymmetric++;
        expect(asymmetric, `n=${n} k=${k}`).toBe(0);
        expect(strayWrites(c, n, n, ldc, oc), `n=${n} k=${k}`).toBe(0);
      }
    });
  }

  it('n = 2050 crosses the WASM column panel (NC = 2048): the second panel starts its lower walk at its own diagonal', () => {
    // Checked with typed-array loops: the Dense reference of a 2050 x 2050 C costs seconds.
    const rng = makeRng(8);
    const n = 2050, k = 2, ldc = n + 1, oc = 1;
    for (const trans of [false, true]) {
      const lda = trans ? n : k;
      const a = new Float64Array(n * k);
      for (let t = 0; t < a.length; t++) a[t] = rng.normal();
      const x = (i: number, p: number): number => (trans ? a[p * lda + i]! : a[i * lda + p]!);
      const c = new Float64Array(oc + n * ldc).fill(SENTINEL);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[oc + i * ldc + j] = j <= i ? (i + 2 * j) / n : NaN;
      expect(dsyrk(trans, n, k, 0.5, a, lda, 0, -1, c, ldc, oc)).toBe(c);
      let bad = 0, stray = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const lo = Math.max(i, j), hi = Math.min(i, j);
          const want = 0.5 * (x(i, 0) * x(j, 0) + x(i, 1) * x(j, 1)) - (lo + 2 * hi) / n;
          if (!(Math.abs(c[oc + i * ldc + j]! - want) <= 1e-12 * Math.max(1, Math.abs(want)))) bad++;
          if (j <= i && c[oc + i * ldc + j] !== c[oc + j * ldc + i]) bad++;
        }
        stray += c[oc + i * ldc + n] === SENTINEL ? 0 : 1;
      }
      expect(bad, `trans=${trans}`).toBe(0);
      expect(stray + (c[0] === SENTINEL ? 0 : 1), `trans=${trans}`).toBe(0);
    }
  });

  it('beta = 0 overwrites NaN garbage; accumulating chunks with beta = 1 equals one big product', () => {
    const rng = makeRng(11);
    const d = 37, rows = 50;
    const A = randDense(rng, rows, d);
    const whole = new Float64Array(d * d).fill(NaN);
    dsyrk(true, d, rows, 1, pack(A, d, 0, 0), d, 0, 0, whole, d, 0);
    const acc = new Float64Array(d * d).fill(NaN);
    const a = pack(A, d, 0, 0);
    for (let r0 = 0; r0 < rows; r0 += 16) {
      const kk = Math.min(16, rows - r0);
      dsyrk(true, d, kk, 1, a, d, r0 * d, r0 === 0 ? 0 : 1, acc, d, 0);
    }
    const want = matmul(transpose(A), A);
    expect(relErr(unpack(whole, d, d, d, 0), want)).toBeLessThan(TOL);
    expect(relErr(unpack(acc, d, d, d, 0), want)).toBeLessThan(TOL);
  });

  it('n = 0 is a no-op; k = 0 scales the lower triangle by beta and mirrors it', () => {
    const c = new Float64Array([1, NaN, 3, 4]);
    expect(dsyrk(false, 0, 3, 1, new Float64Array(0), 3, 0, 0, c, 2, 0)).toBe(c);
    expect(c[0]).toBe(1);
    expect(Number.isNaN(c[1])).toBe(true);
    expect(dsyrk(true, 2, 0, 1, new Float64Array(0), 2, 0, 2, c, 2, 0)).toBe(c);
    expect(Array.from(c)).toEqual([2, 6, 6, 8]);
  });
});
