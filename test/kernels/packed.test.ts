// Tests for dgemmPackB / dgemmPacked (op(B) packed once for many row blocks), against every implementation's own dgemm.
import { describe, it, expect } from 'vitest';
import { implementations } from '../../kernels/index.ts';
import { wasmAlloc, wasmFree } from '../../kernels/wasm.ts';
import { makeRng, randDense, pack, strayWrites, SENTINEL } from './helpers.ts';

const IMPLS = Object.entries(implementations);
const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
// (m, n, k): ragged 4-column micro-panels, k across the depth slices (KC = 256: 257 and 513),
// n across the WASM column panel (NC = 2048: 2051).
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [5, 7, 3], [13, 9, 17], [37, 41, 257], [9, 6, 513], [3, 2051, 5], [70, 130, 300],
];

const bits = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe.each(IMPLS)('dgemmPacked (%s)', (impl, k) => {
  it('gives the bits of dgemm for every transpose, padded layouts, any row blocks, alpha and beta (seed 31)', () => {
    const rng = makeRng(31);
    for (const [ta, tb] of TRANSPOSES) {
      for (const [m, n, kk] of SHAPES) {
        const A = ta ? randDense(rng, kk, m) : randDense(rng, m, kk);
        const B = tb ? randDense(rng, n, kk) : randDense(rng, kk, n);
        const C = randDense(rng, m, n);
        const lda = (ta ? m : kk) + 2, ldb = (tb ? kk : n) + 1, ldc = n + 3;
        const oa = 3, ob = 2, oc = 1;
        const a = pack(A, lda, oa), b = pack(B, ldb, ob), c0 = pack(C, ldc, oc);
        const alpha = rng.normal(), beta = rng.normal();
        const want = k.dgemm(ta, tb, m, n, kk, alpha, a, lda, oa, b, ldb, ob, beta, c0.slice(), ldc, oc);
        const P = k.dgemmPackB(tb, kk, n, b, ldb, ob);
        expect([P.k, P.n]).toEqual([kk, n]);
        // row blocks of C, cut off the 4-row tiles, as the engine's gemm blocks are
        const c = c0.slice();
        for (let r0 = 0; r0 < m; r0 += 7) {
          const rows = Math.min(7, m - r0);
          const ret = k.dgemmPacked(ta, rows, n, kk, alpha, a, lda, oa + (ta ? r0 : r0 * lda), P, beta, c, ldc, oc + r0 * ldc);
          expect(ret).toBe(c);
        }
        expect(bits(c).equals(bits(want)), `${impl} ta=${ta} tb=${tb} ${m}x${n}x${kk}`).toBe(true);
        expect(strayWrites(c, m, n, ldc, oc)).toBe(0);
        k.dgemmPackedFree(P);
      }
    }
  });

  it('k = 0 or alpha = 0 scales C by beta; beta = 0 overwrites NaN; the sizes must match the packed ones', () => {
    const c = new Float64Array([1, 2, 3, 4]);
    const P0 = k.dgemmPackB(false, 0, 2, new Float64Array(0), 2, 0);
    expect(k.dgemmPacked(false, 2, 2, 0, 1, new Float64Array(0), 1, 0, P0, 2, c, 2, 0)).toBe(c);
    expect(Array.from(c)).toEqual([2, 4, 6, 8]);
    const P = k.dgemmPackB(false, 2, 2, new Float64Array([1, 2, 3, 4]), 2, 0);
    const n = new Float64Array(4).fill(NaN);
    k.dgemmPacked(false, 2, 2, 2, 1, new Float64Array([1, 0, 0, 1]), 2, 0, P, 0, n, 2, 0);
    expect(Array.from(n)).toEqual([1, 2, 3, 4]);
    k.dgemmPacked(false, 2, 2, 2, 0, new Float64Array(0), 2, 0, P, 0, n, 2, 0);
    expect(Array.from(n)).toEqual([0, 0, 0, 0]);
    expect(() => k.dgemmPacked(false, 2, 3, 2, 1, new Float64Array(4), 2, 0, P, 0, new Float64Array(6), 3, 0)).toThrow(/2 x 2/);
    expect(() => k.dgemmPackB(false, -1, 2, new Float64Array(4), 2, 0)).toThrow(RangeError);
    k.dgemmPackedFree(P0);
    k.dgemmPackedFree(P);
    expect(() => k.dgemmPacked(false, 2, 2, 2, 1, new Float64Array(4), 2, 0, P, 0, n, 2, 0)).toThrow(/not a live PackedB/);
  });
});

describe('dgemmPackB (wasm)', () => {
  const w = implementations.wasm;

  it('copies B: later changes to B do not reach the product; a resident B is packed in place', () => {
    const rng = makeRng(32);
    const m = 6, n = 10, kk = 300;
    const a = pack(randDense(rng, m, kk), kk, 0, 0);
    const b = pack(randDense(rng, kk, n), n, 0, 0);
    const want = w.dgemm(false, false, m, n, kk, 1, a, kk, 0, b, n, 0, 0, new Float64Array(m * n), n, 0);
    const P = w.dgemmPackB(false, kk, n, b, n, 0);
    const resident = wasmAlloc(b.length);
    resident.set(b);
    const R = w.dgemmPackB(false, kk, n, resident, n, 0);
    b.fill(NaN);
    for (const Q of [P, R]) {
      const c = w.dgemmPacked(false, m, n, kk, 1, a, kk, 0, Q, 0, new Float64Array(m * n), n, 0);
      expect(bits(c).equals(bits(want))).toBe(true);
      w.dgemmPackedFree(Q);
    }
    wasmFree(resident);
  });

  it('reuse: a big enough block is repacked in place (the old handle dies), a small one is replaced', () => {
    const rng = makeRng(33);
    const big = pack(randDense(rng, 40, 40), 40, 0, 0);
    const small = pack(randDense(rng, 5, 8), 8, 0, 0);
    const a = pack(randDense(rng, 3, 40), 40, 0, 0);
    const P1 = w.dgemmPackB(false, 40, 40, big, 40, 0);
    const P2 = w.dgemmPackB(false, 5, 8, small, 8, 0, P1);
    expect(() => w.dgemmPacked(false, 3, 40, 40, 1, a, 40, 0, P1, 0, new Float64Array(120), 40, 0)).toThrow(/not a live PackedB/);
    const P3 = w.dgemmPackB(false, 40, 40, big, 40, 0, P2);
    const c = new Float64Array(1 + 120 + 1).fill(SENTINEL);
    w.dgemmPacked(false, 3, 40, 40, 1, a, 40, 0, P3, 0, c, 40, 1);
    const want = w.dgemm(false, false, 3, 40, 40, 1, a, 40, 0, big, 40, 0, 0, new Float64Array(120), 40, 0);
    expect(bits(c.subarray(1, 121)).equals(bits(want))).toBe(true);
    expect(strayWrites(c, 3, 40, 40, 1)).toBe(0);
    w.dgemmPackedFree(P3);
  });

  it('a region of B that does not fit its array is a RangeError', () => {
    expect(() => w.dgemmPackB(false, 3, 3, new Float64Array(8), 3, 0)).toThrow(RangeError);
    expect(() => w.dgemmPackB(true, 3, 4, new Float64Array(11), 3, 0)).toThrow(RangeError);
  });
});
