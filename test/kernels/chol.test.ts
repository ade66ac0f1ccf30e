// Tests for kernels/chol.ts against ml-matrix's CholeskyDecomposition and brute-force residuals.
import { describe, it, expect } from 'vitest';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { dpotrf, dpotrs } from '../../kernels/chol.ts';
import {
  SEEDS, SENTINEL, makeRng, randDense, randSpd, pack, unpack, packVec, unpackVec, strayWrites, relErr,
  matmul, transpose, type Dense,
} from './helpers.ts';

// Sizes hit the 4-row blocks of dpotrf, its remainder rows, and both together.
const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 30];

function lowerOf(M: Dense): Dense {
  return M.map((r, i) => r.map((v, j) => (j <= i ? v : 0)));
}

describe('dpotrf', () => {
  for (const seed of SEEDS) {
    it(`factors SPD matrices like ml-matrix; upper triangle neither read nor written (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of SIZES) {
        const S = randSpd(rng, n);
        const lda = n + 2, oa = 3;
        const a = pack(S, lda, oa);
        // Poison the strict upper triangle: a kernel that reads it returns NaN factors.
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[oa + i * lda + j] = NaN;
        const info = dpotrf(n, a, lda, oa);
        expect(info, `n=${n}`).toBe(0);
        const got = unpack(a, n, n, lda, oa);
        const L = lowerOf(got);
        const ref = new CholeskyDecomposition(new Matrix(S)).lowerTriangularMatrix.to2DArray();
        // Relative to max |L|; the matrices are well conditioned (shift 1), so 1e-12 is loose.
        expect(relErr(L, ref), `n=${n}`).toBeLessThan(1e-12);
        expect(relErr(matmul(L, transpose(L)), S), `n=${n}`).toBeLessThan(1e-12);
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(Number.isNaN(got[i]![j])).toBe(true);
        expect(strayWrites(a, n, n, lda, oa)).toBe(0);
      }
    });

    it(`reports the first failing 1-based column of a non-SPD matrix (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const n = 13;
      const S = randSpd(rng, n);
      const L = new CholeskyDecomposition(new Matrix(S)).lowerTriangularMatrix.to2DArray();
      for (const j of [0, 1, 3, 4, 6, 11, 12]) {
        // Lowering A[j][j] by L[j][j]^2 + 0.5 leaves pivots < j alone and makes pivot j equal -0.5.
        const B = S.map((r) => r.slice());
        B[j]![j]! -= L[j]![j]! ** 2 + 0.5;
        expect(dpotrf(n, pack(B, n, 0, 0), n, 0), `j=${j}`).toBe(j + 1);
      }
    });
  }

  it('an exactly zero pivot fails at its column', () => {
    // L with unit diagonal and small integer entries keeps every step of the factorisation exact,
    // so subtracting 1 from A[j][j] makes pivot j exactly 0.
    const rng = makeRng(5);
    const n = 11;
    const L: Dense = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (j < i ? Math.floor(rng.uniform() * 5) - 2 : j === i ? 1 : 0)));
    const S = matmul(L, transpose(L));
    expect(dpotrf(n, pack(S, n, 0, 0), n, 0)).toBe(0);
    for (const j of [0, 2, 4, 7, 8, 10]) {
      const B = S.map((r) => r.slice());
      B[j]![j]! -= 1;
      expect(dpotrf(n, pack(B, n, 0, 0), n, 0), `j=${j}`).toBe(j + 1);
    }
  });

  it('small hand-made failures', () => {
    expect(dpotrf(4, new Float64Array([1, 0, 0, 0, 0, 2, 0, 0, 0, 0, -3, 0, 0, 0, 0, 4]), 4, 0)).toBe(3);
    expect(dpotrf(2, new Float64Array([1, 2, 2, 1]), 2, 0)).toBe(2);
    expect(dpotrf(2, new Float64Array([1, 1, 1, 1]), 2, 0)).toBe(2);
    expect(dpotrf(1, new Float64Array([0]), 1, 0)).toBe(1);
    expect(dpotrf(1, new Float64Array([-1]), 1, 0)).toBe(1);
  });

  it('a NaN in the lower triangle fails at its row; a NaN in the upper triangle is ignored', () => {
    const rng = makeRng(99);
    const n = 10;
    const S = randSpd(rng, n);
    for (const [i, j] of [[0, 0], [3, 3], [5, 2], [9, 0], [9, 9], [6, 5]] as const) {
      const B = S.map((r) => r.slice());
      B[i]![j] = NaN;
      expect(dpotrf(n, pack(B, n, 0, 0), n, 0), `NaN at (${i}, ${j})`).toBe(i + 1);
    }
    const U = S.map((r) => r.slice());
    U[2]![7] = NaN;
    expect(dpotrf(n, pack(U, n, 0, 0), n, 0)).toBe(0);
  });

  it('n = 0 succeeds without touching A', () => {
    const a = new Float64Array([SENTINEL]);
    expect(dpotrf(0, a, 1, 0)).toBe(0);
    expect(a[0]).toBe(SENTINEL);
  });
});

describe('dpotrs', () => {
  for (const seed of SEEDS) {
    it(`solves L L^T x = b in place for strided b (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of SIZES) {
        for (const stride of [1, 2, -1, -3]) {
          const S = randSpd(rng, n);
          const ldl = n + 1, ol = 2;
          const l = pack(S, ldl, ol);
          expect(dpotrf(n, l, ldl, ol)).toBe(0);
          const l0 = l.slice();
          const bv = randDense(rng, 1, n)[0]!;
          const ob = stride >= 0 ? 1 : 1 + (n - 1) * -stride;
          const b = packVec(bv, stride, ob);
          const ret = dpotrs(n, l, ldl, ol, b, stride, ob);
          expect(ret).toBe(b);
          expect(l).toEqual(l0);
          const x = unpackVec(b, n, stride, ob);
          const ref = new CholeskyDecomposition(new Matrix(S)).solve(Matrix.columnVector(bv)).to1DArray();
          // Condition numbers here are at most a few thousand: 1e-10 relative is comfortable.
          expect(relErr([x], [ref]), `n=${n} stride=${stride}`).toBeLessThan(1e-10);
          const Ax = matmul(S, x.map((v) => [v])).map((r) => r[0]!);
          expect(relErr([Ax], [bv])).toBeLessThan(1e-10);
          const addressed = new Set<number>();
          for (let i = 0; i < n; i++) addressed.add(ob + i * stride);
          let stray = 0;
          for (let t = 0; t < b.length; t++) if (!addressed.has(t) && b[t] !== SENTINEL) stray++;
          expect(stray).toBe(0);
        }
      }
    });
  }

  it('n = 0 is a no-op returning b', () => {
    const b = new Float64Array([5]);
    expect(dpotrs(0, new Float64Array(0), 1, 0, b, 1, 0)).toBe(b);
    expect(b[0]).toBe(5);
  });
});
