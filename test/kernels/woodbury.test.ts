// The low-rank row solves: the WASM form agrees with the TypeScript one (1e-12; it sums W^T W in its
// own order), on even and odd ranks, a row longer than a chunk, and a system that does not factor.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { woodburyRowsImplementations } from '../../kernels/index.ts';
import { wasmAvailable } from '../../kernels/wasm.ts';

const SEED = 43;

describe.runIf(wasmAvailable)(`woodburyRows, WASM against TypeScript (seed ${SEED})`, () => {
  it('the same a and bs to 1e-12 for k = 20, 7 and 1, with a 40,000-entry row', () => {
    const rng = new Rng(SEED);
    for (const [n, d, k, long] of [[60, 50, 20, 30], [40, 300, 7, 40_000], [10, 5, 1, 3]] as const) {
      const U = Float64Array.from({ length: d * k }, () => rng.normal() / Math.sqrt(d));
      const sw = Float64Array.from({ length: k }, () => rng.uniform() * 2);
      const rowPtr = new Int32Array(n + 1);
      const cols: number[] = [];
      for (let i = 0; i < n; i++) {
        const len = i === 2 ? long : rng.int(15);
        for (let t = 0; t < len; t++) cols.push(rng.int(d));
        rowPtr[i + 1] = cols.length;
      }
      const colIdx = Int32Array.from(cols);
      const vals = Float64Array.from(cols, () => rng.normal());
      const out = (impl: 'js' | 'wasm', key: number) => {
        const a = new Float64Array(cols.length);
        const bs = new Float64Array(n * k);
        const failed = woodburyRowsImplementations[impl](U, key, k, sw, 0.3, rowPtr, colIdx, vals, 1, n, a, bs);
        return { a, bs, failed };
      };
      const js = out('js', Number.NaN);
      // twice under one key: the second call uses the resident U
      for (const w of [out('wasm', 7e9 + k), out('wasm', 7e9 + k)]) {
        expect(w.failed).toBe(0);
        expect(js.failed).toBe(0);
        for (let q = 0; q < cols.length; q++) expect(Math.abs(w.a[q]! - js.a[q]!)).toBeLessThan(1e-12 * (1 + Math.abs(js.a[q]!)));
        for (let q = 0; q < n * k; q++) expect(Math.abs(w.bs[q]! - js.bs[q]!)).toBeLessThan(1e-12 * (1 + Math.abs(js.bs[q]!)));
        // row 0 is outside the range: untouched
        expect(w.bs.subarray(0, k).every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('a system that does not factor (c < 0) gives zeros and is counted', () => {
    const U = Float64Array.of(1, 0, 0, 1);
    const sw = Float64Array.of(0, 0);
    const rowPtr = Int32Array.of(0, 2);
    for (const impl of ['js', 'wasm'] as const) {
      const a = Float64Array.of(5, 5);
      const bs = Float64Array.of(5, 5);
      expect(woodburyRowsImplementations[impl](U, Number.NaN, 2, sw, -1, rowPtr, Int32Array.of(0, 1), Float64Array.of(1, 2), 0, 1, a, bs)).toBe(1);
      expect([...a, ...bs]).toEqual([0, 0, 0, 0]);
    }
  });
});
