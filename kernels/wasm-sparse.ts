// The WASM form of kernels/sparse.ts sparseRowsJs: the operands copied into wasm memory a chunk of
// rows at a time (X and the YP share once a call), the same bits.

import { allocBytes, exportsOrThrow, freeBytes } from './wasm-memory.ts';

// Entries a chunk of rows holds (a longer row is a chunk alone). Calls are chunked also because V8
// runs a wasm function's first calls in its baseline compiler (no on-stack replacement).
const CHUNK_ENTRIES = 1 << 16;

export function sparseRowsWasm(
  rowPtr: Int32Array, colIdx: Int32Array, a: Float64Array, c: number, X: Float64Array,
  Z: Float64Array, YP: Float64Array, yOff: number, p: number, r0: number, r1: number,
): void {
  if (r1 <= r0) return;
  const w = exportsOrThrow();
  const dp = X.length;
  const d = dp / p;
  if (!(Number.isInteger(d) && YP.length >= yOff + dp && Z.length >= r1 * p)) {
    throw new RangeError(`sparseRows: X (${X.length}), YP (${YP.length} from ${yOff}) and Z (${Z.length}) do not fit p = ${p} and rows [${r0}, ${r1})`);
  }
  // the kernel trusts its indices: check them here (a pass over the entries, p times cheaper than the work)
  let maxRow = 0;
  for (let i = r0; i < r1; i++) maxRow = Math.max(maxRow, rowPtr[i + 1]! - rowPtr[i]!);
  for (let q = rowPtr[r0]!; q < rowPtr[r1]!; q++) {
    const j = colIdx[q]!;
    if (!(j >= 0 && j < d)) throw new RangeError(`sparseRows: colIdx[${q}] = ${j} is outside [0, ${d})`);
  }
  const cap = Math.max(CHUNK_ENTRIES, maxRow);
  const rowsCap = Math.min(r1 - r0, cap) + 1;
  // every allocation first (each may grow memory), then views of the current buffer
  const px = allocBytes(dp * 8);
  const py = allocBytes(dp * 8);
  const prp = allocBytes(rowsCap * 4);
  const pci = allocBytes(cap * 4);
  const pa = allocBytes(cap * 8);
  const pz = allocBytes(rowsCap * p * 8);
  try {
    const buf = w.memory.buffer;
    new Float64Array(buf, px, dp).set(X);
    new Float64Array(buf, py, dp).fill(0);
    const rp = new Int32Array(buf, prp, rowsCap);
    const ci = new Int32Array(buf, pci, cap);
    const av = new Float64Array(buf, pa, cap);
    const zc = new Float64Array(buf, pz, (rowsCap - 1) * p);
    for (let s0 = r0; s0 < r1;) {
      // rows [s0, s1): as many as the chunk holds, at least one
      let s1 = s0 + 1;
      while (s1 < r1 && s1 - s0 < rowsCap - 1 && rowPtr[s1 + 1]! - rowPtr[s0]! <= cap) s1++;
      const q0 = rowPtr[s0]!;
      const q1 = rowPtr[s1]!;
      for (let i = s0; i <= s1; i++) rp[i - s0] = rowPtr[i]! - q0;
      ci.set(colIdx.subarray(q0, q1));
      av.set(a.subarray(q0, q1));
      zc.set(Z.subarray(s0 * p, s1 * p));
      w.sparseRows(prp, s1 - s0, pci, pa, c, px, pz, py, p);
      Z.set(zc.subarray(0, (s1 - s0) * p), s0 * p);
      s0 = s1;
    }
    YP.set(new Float64Array(buf, py, dp), yOff);
  } finally {
    for (const [ptr, bytes] of [[px, dp * 8], [py, dp * 8], [prp, rowsCap * 4], [pci, cap * 4], [pa, cap * 8], [pz, rowsCap * p * 8]] as const) freeBytes(ptr, bytes);
  }
}
