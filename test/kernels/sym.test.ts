// Tests for kernels/sym.ts (gather, scatter-outer, symmetrize) against brute-force loops.
import { describe, it, expect } from 'vitest';
import { dgathersym, dscatterouter, dsymmetrize } from '../../kernels/sym.ts';
import {
  SEEDS, SENTINEL, makeRng, randDense, randSym, pack, unpack, packVec, strayWrites, maxAbsDiff, type Dense,
} from './helpers.ts';

function randIdx(rng: ReturnType<typeof makeRng>, k: number, n: number, distinct: boolean): number[] {
  if (distinct) {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.slice(0, k);
  }
  return Array.from({ length: k }, () => Math.floor(rng.uniform() * n));
}

function idxBuffer(idx: number[], offset: number): Int32Array {
  const buf = new Int32Array(offset + idx.length + 2).fill(-1);
  idx.forEach((v, i) => { buf[offset + i] = v; });
  return buf;
}

describe('dgathersym', () => {
  for (const seed of SEEDS) {
    it(`copies the principal submatrix picked by idx, nothing else written (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const n = 11;
      const K = randDense(rng, n, n);
      const ldk = n + 2, ok = 3;
      const kbuf = pack(K, ldk, ok);
      const k0 = kbuf.slice();
      for (const k of [1, 2, 5, 8, 11]) {
        for (const distinct of [true, false]) {
          const idx = randIdx(rng, k, n, distinct);
          const oi = 2, ldo = k + 1, oo = 4;
          const out = pack(randDense(rng, k, k), ldo, oo);
          const ret = dgathersym(k, idxBuffer(idx, oi), oi, kbuf, ldk, ok, out, ldo, oo);
          expect(ret).toBe(out);
          const want = idx.map((ia) => idx.map((ib) => K[ia]![ib]!));
          expect(unpack(out, k, k, ldo, oo)).toEqual(want);
          expect(strayWrites(out, k, k, ldo, oo)).toBe(0);
        }
      }
      expect(kbuf).toEqual(k0);
    });
  }

  it('k = 0 is a no-op returning out', () => {
    const out = new Float64Array([SENTINEL]);
    expect(dgathersym(0, new Int32Array(0), 0, new Float64Array(4), 2, 0, out, 1, 0)).toBe(out);
    expect(out[0]).toBe(SENTINEL);
  });
});

describe('dscatterouter', () => {
  for (const seed of SEEDS) {
    it(`adds alpha a a^T into Q at rows/cols idx, strided a (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const n = 9;
      for (const k of [1, 3, 6, 9]) {
        for (const distinct of [true, false]) {
          for (const stride of [1, 3, -2]) {
            const idx = randIdx(rng, k, n, distinct);
            const av = randDense(rng, 1, k)[0]!;
            const alpha = rng.normal();
            const Q = randSym(rng, n);
            const ldq = n + 1, oq = 2, oi = 1;
            const oa = stride >= 0 ? 3 : 3 + (k - 1) * -stride;
            const q = pack(Q, ldq, oq);
            const a = packVec(av, stride, oa);
            const a0 = a.slice();
            const ret = dscatterouter(k, idxBuffer(idx, oi), oi, alpha, a, stride, oa, q, ldq, oq);
            expect(ret).toBe(q);
            const want: Dense = Q.map((r) => r.slice());
            for (let p = 0; p < k; p++) {
              for (let r = 0; r < k; r++) want[idx[p]!]![idx[r]!]! += alpha * av[p]! * av[r]!;
            }
            const got = unpack(q, n, n, ldq, oq);
            // Same additions in the same order as the kernel up to the alpha grouping: 1e-14 is loose.
            expect(maxAbsDiff(got, want)).toBeLessThan(1e-14 * 16);
            expect(strayWrites(q, n, n, ldq, oq)).toBe(0);
            expect(a).toEqual(a0);
            if (distinct) {
              // With distinct indices a symmetric Q must stay bitwise symmetric.
              let asym = 0;
              for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i]![j] !== got[j]![i]) asym++;
              expect(asym).toBe(0);
            }
          }
        }
      }
    });
  }

  it('k = 0 and alpha = 0 are no-ops returning Q', () => {
    const q = new Float64Array([1, 2, 3, 4]);
    expect(dscatterouter(0, new Int32Array(0), 0, 1, new Float64Array(0), 1, 0, q, 2, 0)).toBe(q);
    expect(dscatterouter(2, new Int32Array([0, 1]), 0, 0, new Float64Array([NaN, 1]), 1, 0, q, 2, 0)).toBe(q);
    expect(Array.from(q)).toEqual([1, 2, 3, 4]);
  });
});

describe('dsymmetrize', () => {
  for (const seed of SEEDS) {
    it(`replaces C by (C + C^T) / 2 in place, exactly symmetric (seed ${seed})`, () => {
      const rng = makeRng(seed);
      for (const n of [1, 2, 5, 16]) {
        const C = randDense(rng, n, n);
        const ldc = n + 3, oc = 2;
        const c = pack(C, ldc, oc);
        const ret = dsymmetrize(n, c, ldc, oc);
        expect(ret).toBe(c);
        const got = unpack(c, n, n, ldc, oc);
        const want = C.map((r, i) => r.map((v, j) => 0.5 * (v + C[j]![i]!)));
        expect(maxAbsDiff(got, want)).toBe(0);
        let asym = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (got[i]![j] !== got[j]![i]) asym++;
        expect(asym).toBe(0);
        expect(strayWrites(c, n, n, ldc, oc)).toBe(0);
      }
    });
  }

  it('n = 0 is a no-op returning C', () => {
    const c = new Float64Array([1, 2]);
    expect(dsymmetrize(0, c, 1, 0)).toBe(c);
    expect(Array.from(c)).toEqual([1, 2]);
  });
});

describe('dgathersymlower', () => {
  it('writes the lower triangle of the principal submatrix, leaves the strict upper triangle alone (seed 77)', async () => {
    const { dgathersym, dgathersymlower } = await import('../../kernels/sym.ts');
    let s = 77;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) - 0.5;
    const d = 9;
    const K = new Float64Array(d * d).map(rnd);
    const idx = Int32Array.of(99, 0, 3, 4, 8, 1);
    const k = 4;
    const full = dgathersym(k, idx, 2, K, d, 0, new Float64Array(2 + k * 5), 5, 2);
    const low = new Float64Array(2 + k * 5).fill(-7);
    expect(dgathersymlower(k, idx, 2, K, d, 0, low, 5, 2)).toBe(low);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < 5; b++) {
        const v = low[2 + a * 5 + b];
        if (b <= a) expect(v).toBe(full[2 + a * 5 + b]);
        else expect(v).toBe(-7);
      }
    }
    expect(low[0]).toBe(-7);
    expect(dgathersymlower(0, idx, 0, K, d, 0, low, 5, 0)).toBe(low);
  });
});
