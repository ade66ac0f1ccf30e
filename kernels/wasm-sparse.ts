// The WASM form of kernels/sparse.ts sparseRowsJs: the operands copied into wasm memory a chunk of
// rows at a time (X and the YP share once a call), the same bits.

import { rowChunking, rowChunks } from './wasm-chunks.ts';
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
  const { cap, rowsCap } = rowChunking('sparseRows', rowPtr, colIdx, r0, r1, d, CHUNK_ENTRIES);
  // every allocation first (each may grow memory), then views of the current buffer
  const sizes = [dp * 8, dp * 8, rowsCap * 4, cap * 4, cap * 8, rowsCap * p * 8];
  const [px, py, prp, pci, pa, pz] = sizes.map((b) => allocBytes(b)) as [number, number, number, number, number, number];
  try {
    const buf = w.memory.buffer;
    new Float64Array(buf, px, dp).set(X);
    new Float64Array(buf, py, dp).fill(0);
    const av = new Float64Array(buf, pa, cap);
    const zc = new Float64Array(buf, pz, (rowsCap - 1) * p);
    for (const [s0, s1, q0, q1] of rowChunks(rowPtr, colIdx, r0, r1, cap, rowsCap, new Int32Array(buf, prp, rowsCap), new Int32Array(buf, pci, cap))) {
      av.set(a.subarray(q0, q1));
      zc.set(Z.subarray(s0 * p, s1 * p));
      w.sparseRows(prp, s1 - s0, pci, pa, c, px, pz, py, p);
      Z.set(zc.subarray(0, (s1 - s0) * p), s0 * p);
    }
    YP.set(new Float64Array(buf, py, dp), yOff);
  } finally {
    [px, py, prp, pci, pa, pz].forEach((ptr, e) => freeBytes(ptr, sizes[e]!));
  }
}
