// Tests for kernels/eig.ts: dsyev against ml-matrix and reconstruction, dsympow against the eigen formula.
import { describe, it, expect } from 'vitest';
import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { dsyev, dsympow } from '../../kernels/eig.ts';
import {
  SEEDS, SENTINEL, makeRng, randDense, randSym, pack, unpack, strayWrites, relErr, maxAbsDiff,
  matmul, transpose, type Dense, type Rng,
} from './helpers.ts';

interface Eig { info: number; w: number[]; V: Dense }

// Runs dsyev with padded, offset layouts and a NaN-poisoned strict upper triangle in A, checking
// on the way that A is not written and nothing outside w's and V's ranges is.
function runDsyev(A: Dense): Eig {
  const n = A.length;
  const lda = n + 2, oa = 1, ldv = n + 3, ov = 2, ow = 3;
  const a = pack(A, lda, oa);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[oa + i * lda + j] = NaN;
  const a0 = a.slice();
  const v = new Float64Array(ov + n * ldv + 2).fill(SENTINEL);
  const w = new Float64Array(ow + n + 2).fill(SENTINEL);
  const work = new Float64Array(n);
  const info = dsyev(n, a, lda, oa, w, ow, v, ldv, ov, work);
  expect(a).toEqual(a0);
  expect(strayWrites(v, n, n, ldv, ov)).toBe(0);
  expect(strayWrites(w, 1, n, n, ow)).toBe(0);
  return { info, w: Array.from(w.subarray(ow, ow + n)), V: unpack(v, n, n, ldv, ov) };
}

function reconstruct(V: Dense, w: number[]): Dense {
  return matmul(V.map((r) => r.map((x, j) => x * w[j]!)), transpose(V));
}

function identity(n: number): Dense {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

function randOrthogonal(rng: Rng, n: number): Dense {
  return new QrDecomposition(new Matrix(randDense(rng, n, n))).orthogonalMatrix.to2DArray();
}

// Q diag(lambda) Q^T, symmetrised so the test matrix is exactly symmetric.
function withSpectrum(rng: Rng, lambda: number[]): Dense {
  const Q = randOrthogonal(rng, lambda.length);
  const M = reconstruct(Q, lambda);
  return M.map((r, i) => r.map((x, j) => (i >= j ? x : M[j]![i]!)));
}

function expectValidEig(A: Dense, e: Eig, tol: number, label: string): void {
  const n = A.length;
  expect(e.info, label).toBe(0);
  for (let i = 1; i < n; i++) expect(e.w[i]!, label).toBeGreaterThanOrEqual(e.w[i - 1]!);
  // Tolerances are relative to max(1, max |A|): backward-stable methods land near n * eps.
  expect(relErr(reconstruct(e.V, e.w), A), `${label}: V diag(w) V^T = A`).toBeLessThan(tol);
  expect(maxAbsDiff(matmul(transpose(e.V), e.V), identity(n)), `${label}: V^T V = I`).toBeLessThan(tol);
}

function mlSortedEigenvalues(A: Dense): number[] {
  return new EigenvalueDecomposition(new Matrix(A), { assumeSymmetric: true }).realEigenvalues
    .slice().sort((x, y) => x - y);
}

describe('dsyev', () => {
  for (const seed of SEEDS) {
    it(`random 60x60: reconstructs A, orthonormal V, eigenvalues as ml-matrix (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const A = randSym(rng, 60);
      const e = runDsyev(A);
      expectValidEig(A, e, 1e-10, `seed ${seed}`);
      const ref = mlSortedEigenvalues(A);
      expect(relErr([e.w], [ref])).toBeLessThan(1e-10);
    });

    it(`small sizes 1..9 and a 150x150 (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 150]) {
        const A = randSym(rng, n);
        const e = runDsyev(A);
        expectValidEig(A, e, 1e-10, `n=${n}`);
        expect(relErr([e.w], [mlSortedEigenvalues(A)]), `n=${n}`).toBeLessThan(1e-10);
      }
    });

    it(`repeated eigenvalues keep an orthonormal basis (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const lambda = [3, -1, 3, 0.5, 3, -1, 0.5, 3, 7, 3, 0, 0];
      const A = withSpectrum(rng, lambda);
      const e = runDsyev(A);
      expectValidEig(A, e, 1e-12, 'clustered');
      expect(maxAbsDiff([e.w], [lambda.slice().sort((x, y) => x - y)])).toBeLessThan(1e-12);
    });
  }

  it('zero-diagonal tridiagonal (path graph): the case that stalls QR with a Rayleigh shift', () => {
    for (const n of [2, 3, 10, 31]) {
      const A = identity(n).map((r, i) => r.map((_, j) => (Math.abs(i - j) === 1 ? 1 : 0)));
      const e = runDsyev(A);
      expectValidEig(A, e, 1e-13, `path ${n}`);
      const exact = Array.from({ length: n }, (_, k) => 2 * Math.cos(((n - k) * Math.PI) / (n + 1)));
      expect(maxAbsDiff([e.w], [exact]), `path ${n}`).toBeLessThan(1e-13);
    }
  });

  it('block-diagonal input splits into independent blocks', () => {
    const rng = makeRng(12);
    const sizes = [3, 1, 5, 2];
    const n = sizes.reduce((x, y) => x + y, 0);
    const A = identity(n).map((r) => r.map(() => 0));
    let at = 0;
    for (const b of sizes) {
      const B = randSym(rng, b);
      for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) A[at + i]![at + j] = B[i]![j]!;
      at += b;
    }
    const e = runDsyev(A);
    expectValidEig(A, e, 1e-13, 'block diagonal');
    expect(relErr([e.w], [mlSortedEigenvalues(A)])).toBeLessThan(1e-13);
  });

  it('identity and zero matrices: every eigenvalue repeated', () => {
    for (const n of [1, 4, 9]) {
      const I = identity(n);
      const ei = runDsyev(I);
      expectValidEig(I, ei, 1e-15, `I_${n}`);
      expect(ei.w).toEqual(new Array(n).fill(1));
      const Z = I.map((r) => r.map(() => 0));
      const ez = runDsyev(Z);
      expectValidEig(Z, ez, 1e-15, `0_${n}`);
      expect(ez.w).toEqual(new Array(n).fill(0));
    }
  });

  it('diagonal matrix: exact sorted diagonal, V a permutation', () => {
    const d = [4, -2, 0, 9.5, 1e-3, -7, 4];
    const n = d.length;
    const A = d.map((x, i) => d.map((_, j) => (i === j ? x : 0)));
    const e = runDsyev(A);
    expect(e.info).toBe(0);
    expect(e.w).toEqual(d.slice().sort((x, y) => x - y));
    for (let j = 0; j < n; j++) {
      const col = e.V.map((r) => Math.abs(r[j]!));
      expect(col.filter((x) => x === 1).length).toBe(1);
      expect(col.filter((x) => x === 0).length).toBe(n - 1);
      expect(d[col.indexOf(1)]).toBe(e.w[j]);
    }
  });

  it('n = 1 and a 2x2 against the closed form', () => {
    const e1 = runDsyev([[-3.5]]);
    expect(e1).toEqual({ info: 0, w: [-3.5], V: [[1]] });
    const [a, b, c] = [2, 1.5, -1];
    const e2 = runDsyev([[a, b], [b, c]]);
    const mid = (a + c) / 2, rad = Math.hypot((a - c) / 2, b);
    expect(Math.abs(e2.w[0]! - (mid - rad))).toBeLessThan(1e-15 * 4);
    expect(Math.abs(e2.w[1]! - (mid + rad))).toBeLessThan(1e-15 * 4);
    expectValidEig([[a, b], [b, c]], e2, 1e-15, '2x2');
  });

  it('tiny and huge scales are rescaled without underflow or overflow', () => {
    const rng = makeRng(3);
    const A = randSym(rng, 12);
    const ref = runDsyev(A);
    for (const s of [1e-300, 1e-160, 1e160, 1e300]) {
      const e = runDsyev(A.map((r) => r.map((x) => x * s)));
      expect(e.info).toBe(0);
      expect(relErr([e.w.map((x) => x / s)], [ref.w]), `scale ${s}`).toBeLessThan(1e-13);
      expect(maxAbsDiff(matmul(transpose(e.V), e.V), identity(12))).toBeLessThan(1e-13);
    }
  });

  it('a non-finite entry in the lower triangle returns n and NaN outputs', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const A = randSym(makeRng(4), 5);
      A[3]![1] = bad;
      const e = runDsyev(A);
      expect(e.info).toBe(5);
      expect(e.w.every(Number.isNaN)).toBe(true);
      expect(e.V.every((r) => r.every(Number.isNaN))).toBe(true);
    }
  });

  it('n = 0 returns 0 and writes nothing', () => {
    const w = new Float64Array([SENTINEL]), v = new Float64Array([SENTINEL]);
    expect(dsyev(0, new Float64Array(0), 1, 0, w, 0, v, 1, 0, new Float64Array(0))).toBe(0);
    expect(w[0]).toBe(SENTINEL);
    expect(v[0]).toBe(SENTINEL);
  });
});

// The reference: ml-matrix's eigendecomposition, then V diag(f(lambda)) V^T with the clipping rule.
function powRef(A: Dense, p: number): Dense {
  const ed = new EigenvalueDecomposition(new Matrix(A), { assumeSymmetric: true });
  const f = ed.realEigenvalues.map((l) => (l > 0 ? l ** p : 0));
  return reconstruct(ed.eigenvectorMatrix.to2DArray(), f);
}

function runDsympow(A: Dense, p: number): { info: number; out: Dense } {
  const n = A.length;
  const lda = n + 1, oa = 2, ldo = n + 2, oo = 3;
  const a = pack(A, lda, oa);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[oa + i * lda + j] = NaN;
  const out = new Float64Array(oo + n * ldo + 1).fill(SENTINEL);
  const info = dsympow(n, a, lda, oa, p, out, ldo, oo, new Float64Array(n * n), new Float64Array(n), new Float64Array(n));
  expect(strayWrites(out, n, n, ldo, oo)).toBe(0);
  const M = unpack(out, n, n, ldo, oo);
  let asym = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (M[i]![j] !== M[j]![i]) asym++;
  expect(asym, 'out must be exactly symmetric').toBe(0);
  return { info, out: M };
}

describe('dsympow', () => {
  for (const seed of SEEDS) {
    for (const p of [0.5, 1, 2]) {
      it(`p = ${p} matches the ml-matrix eigen formula, PSD and indefinite (seed ${seed})`, () => {
        const rng = makeRng(seed);
        const B = randDense(rng, 25, 25);
        const psd = matmul(B, transpose(B)).map((r) => r.map((x) => x / 25));
        const indefinite = randSym(rng, 25);
        for (const [name, A] of [['psd', psd], ['indefinite', indefinite]] as const) {
          const { info, out } = runDsympow(A, p);
          expect(info).toBe(0);
          expect(relErr(out, powRef(A, p)), name).toBeLessThan(1e-10);
        }
      });
    }
  }

  it('p = 2 on a PSD matrix is A A; p = 1 on a PSD matrix is A', () => {
    const rng = makeRng(8);
    const B = randDense(rng, 10, 10);
    const A = matmul(B, transpose(B));
    expect(relErr(runDsympow(A, 2).out, matmul(A, A))).toBeLessThan(1e-12);
    expect(relErr(runDsympow(A, 1).out, A)).toBeLessThan(1e-12);
  });

  it('p = 0 gives the projector onto the positive eigenspace (non-positive eigenvalues map to 0)', () => {
    const rng = makeRng(9);
    const Q = randOrthogonal(rng, 6);
    const lambda = [-2, 3, -0.25, 0.5, -1e-3, 4];
    const A = reconstruct(Q, lambda).map((r, i, M) => r.map((x, j) => (i >= j ? x : M[j]![i]!)));
    const { info, out } = runDsympow(A, 0);
    expect(info).toBe(0);
    expect(relErr(out, reconstruct(Q, lambda.map((l) => (l > 0 ? 1 : 0))))).toBeLessThan(1e-12);
    expect(relErr(matmul(out, out), out)).toBeLessThan(1e-12);
    // An exactly zero eigenvalue counts as clipped: 0^0 := 0.
    expect(runDsympow([[0, 0, 0], [0, 2, 0], [0, 0, -1]], 0).out).toEqual([[0, 0, 0], [0, 1, 0], [0, 0, 0]]);
  });

  it('an all-negative matrix gives 0 for every p', () => {
    const A = [[-1, 0.2], [0.2, -3]];
    for (const p of [0, 0.5, 1, 2]) expect(runDsympow(A, p).out).toEqual([[0, 0], [0, 0]]);
  });

  it('out may be the storage of A', () => {
    const rng = makeRng(10);
    const B = randDense(rng, 7, 7);
    const A = matmul(B, transpose(B));
    const a = pack(A, 7, 0, 0);
    const info = dsympow(7, a, 7, 0, 0.5, a, 7, 0, new Float64Array(49), new Float64Array(7), new Float64Array(7));
    expect(info).toBe(0);
    expect(relErr(unpack(a, 7, 7, 7, 0), powRef(A, 0.5))).toBeLessThan(1e-10);
  });

  it('a NaN input returns dsyev info and NaN output; n = 0 is a no-op', () => {
    const { info, out } = (() => {
      const n = 3, a = new Float64Array([1, 0, 0, NaN, 1, 0, 0, 0, 1]), o = new Float64Array(9);
      const r = dsympow(n, a, n, 0, 0.5, o, n, 0, new Float64Array(9), new Float64Array(3), new Float64Array(3));
      return { info: r, out: Array.from(o) };
    })();
    expect(info).toBe(3);
    expect(out.every(Number.isNaN)).toBe(true);
    const o = new Float64Array([SENTINEL]);
    expect(dsympow(0, new Float64Array(0), 1, 0, 1, o, 1, 0, new Float64Array(0), new Float64Array(0), new Float64Array(0))).toBe(0);
    expect(o[0]).toBe(SENTINEL);
  });
});
