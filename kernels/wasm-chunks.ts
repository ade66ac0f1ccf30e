// The CSR row kernels' way into wasm (kernels/wasm-sparse.ts, kernels/wasm-woodbury.ts): the
// column indices checked once, and rows [r0, r1) copied in chunks of about a fixed number of entries.

/**
 * The chunk sizes for rows [r0, r1) of a CSR matrix with d columns: `cap` entries (chunkEntries, or
 * the longest row) and up to rowsCap - 1 rows. Throws when a column index is outside [0, d): the
 * kernels trust them (a pass over the entries, far cheaper than the kernels' work).
 */
export function rowChunking(
  what: string, rowPtr: Int32Array, colIdx: Int32Array, r0: number, r1: number, d: number, chunkEntries: number,
): { cap: number; rowsCap: number } {
  let maxRow = 0;
  for (let i = r0; i < r1; i++) maxRow = Math.max(maxRow, rowPtr[i + 1]! - rowPtr[i]!);
  for (let q = rowPtr[r0]!; q < rowPtr[r1]!; q++) {
    const j = colIdx[q]!;
    if (!(j >= 0 && j < d)) throw new RangeError(`${what}: colIdx[${q}] = ${j} is outside [0, ${d})`);
  }
  const cap = Math.max(chunkEntries, maxRow);
  return { cap, rowsCap: Math.min(r1 - r0, cap) + 1 };
}

/**
 * The chunks of rows [r0, r1): [s0, s1) as many rows as a chunk holds, at least one, with their
 * entries [q0, q1). Before each is yielded, rp (rowsCap) holds its row offsets from q0 and ci its
 * column indices (views into wasm memory).
 */
export function* rowChunks(
  rowPtr: Int32Array, colIdx: Int32Array, r0: number, r1: number, cap: number, rowsCap: number, rp: Int32Array, ci: Int32Array,
): Generator<[number, number, number, number]> {
  for (let s0 = r0; s0 < r1;) {
    let s1 = s0 + 1;
    while (s1 < r1 && s1 - s0 < rowsCap - 1 && rowPtr[s1 + 1]! - rowPtr[s0]! <= cap) s1++;
    const q0 = rowPtr[s0]!;
    const q1 = rowPtr[s1]!;
    for (let i = s0; i <= s1; i++) rp[i - s0] = rowPtr[i]! - q0;
    ci.set(colIdx.subarray(q0, q1));
    yield [s0, s1, q0, q1];
    s0 = s1;
  }
}
