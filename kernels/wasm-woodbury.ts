// The WASM form of kernels/woodbury.ts woodburyRowsJs: U copied into wasm memory once per key (a
// sweep's kernel serves many blocks), the rows a chunk at a time.

import { rowChunking, rowChunks } from './wasm-chunks.ts';
import { allocBytes, exportsOrThrow, freeBytes } from './wasm-memory.ts';

// Entries a chunk of rows holds (a longer row is a chunk alone); chunked calls also let V8 tier the
// wasm code up between them.
const CHUNK_ENTRIES = 1 << 15;

let resident: { key: number; ptr: number; bytes: number } | null = null;

function residentU(U: Float64Array, uKey: number): number {
  const w = exportsOrThrow();
  if (resident !== null && resident.key === uKey && !Number.isNaN(uKey) && resident.bytes === U.length * 8) return resident.ptr;
  if (resident !== null) freeBytes(resident.ptr, resident.bytes);
  const ptr = allocBytes(U.length * 8);
  resident = { key: uKey, ptr, bytes: U.length * 8 };
  new Float64Array(w.memory.buffer, ptr, U.length).set(U);
  return ptr;
}

export function woodburyRowsWasm(
  U: Float64Array, uKey: number, k: number, sw: Float64Array, c: number,
  rowPtr: Int32Array, colIdx: Int32Array, vals: Float64Array, r0: number, r1: number, a: Float64Array, bs: Float64Array,
): number {
  if (r1 <= r0) return 0;
  const w = exportsOrThrow();
  const d = U.length / k;
  if (!(Number.isInteger(d) && sw.length >= k && bs.length >= r1 * k && a.length >= rowPtr[r1]!)) {
    throw new RangeError(`woodburyRows: U (${U.length}), sw (${sw.length}), bs (${bs.length}) or a (${a.length}) do not fit k = ${k} and rows [${r0}, ${r1})`);
  }
  const { cap, rowsCap } = rowChunking('woodburyRows', rowPtr, colIdx, r0, r1, d, CHUNK_ENTRIES);
  // every allocation first (each may grow memory), then views of the current buffer
  const pu = residentU(U, uKey);
  const sizes = [k * 8, rowsCap * 4, cap * 4, cap * 8, cap * 8, rowsCap * k * 8, cap * k * 8, k * k * 8, k * 8];
  const [psw, prp, pci, pv, pa, pbs, pW, pM, pT] = sizes.map((b) => allocBytes(b)) as [number, number, number, number, number, number, number, number, number];
  try {
    const buf = w.memory.buffer;
    new Float64Array(buf, psw, k).set(sw.subarray(0, k));
    const vv = new Float64Array(buf, pv, cap);
    let failed = 0;
    for (const [s0, s1, q0, q1] of rowChunks(rowPtr, colIdx, r0, r1, cap, rowsCap, new Int32Array(buf, prp, rowsCap), new Int32Array(buf, pci, cap))) {
      vv.set(vals.subarray(q0, q1));
      failed += w.woodburyRows(k, pu, psw, c, prp, s1 - s0, pci, pv, pa, pbs, pW, pM, pT);
      a.set(new Float64Array(buf, pa, q1 - q0), q0);
      bs.set(new Float64Array(buf, pbs, (s1 - s0) * k), s0 * k);
    }
    return failed;
  } finally {
    [psw, prp, pci, pv, pa, pbs, pW, pM, pT].forEach((p, e) => freeBytes(p, sizes[e]!));
  }
}
