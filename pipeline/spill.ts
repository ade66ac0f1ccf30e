// Spilling: the prepared matrix as row-partitioned Arrow IPC chunks in a work directory, streamed
// back one chunk at a time each sweep, so the sweeps hold one chunk's entries instead of all of them.
//
// A chunk is a run of whole solve blocks of the in-memory plan, so the solve blocks, their
// held-out sums and their order are the in-memory run's own; Q is accumulated chunk after chunk
// in ascending rows, the order of the in-memory Q rows. A spilled run gives the in-memory bits.

import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readChunk, writeChunk, type ChunkEntries } from '../io/chunks.ts';
import type { Csr } from '../engine/csr.ts';
import type { PreparedData } from '../engine/split.ts';
import type { RemoteChunk, SweepArrays } from './blocks.ts';
import type { RowShape, SweepPlan } from './plan.ts';
import { columnIndexInto } from '../engine/sweep.ts';
import { offsetInto } from '../engine/side-bias.ts';
import { makeDir } from './workdir.ts';

export interface SpillOptions {
  /** Directory for the chunk files; created, and removed with them by SpillStore.dispose. */
  dir: string;
  /** Most observed entries a chunk holds (a chunk still takes at least one solve block whole). */
  chunkEntries: number;
}

export interface Chunk {
  index: number;
  path: string;
  /** Rows [r0, r1) of the oriented matrix. */
  r0: number;
  r1: number;
  /** Solve blocks [b0, b1) of the plan. */
  b0: number;
  b1: number;
  /** The first held-out entry (global index) of the chunk's rows. */
  v0: number;
  nnz: number;
  nTrain: number;
  nVal: number;
}

/** A chunk as the cluster's tasks name it, with the row and held-out ranges its blocks cover. */
export function remoteChunk(c: Chunk, ranges: Array<[number, number, number, number]>): RemoteChunk {
  return { chunk: c.index, path: c.path, r0: c.r0, rows: c.r1 - c.r0, nnz: c.nnz, nTrain: c.nTrain, nVal: c.nVal, ranges };
}

type Alloc = {
  (kind: 'f64', n: number): Float64Array;
  (kind: 'i32', n: number): Int32Array;
};

/** The chunk files of one run and the work arrays, sized for the largest chunk, they load into. */
export class SpillStore {
  readonly d: number;
  readonly n: number;
  readonly chunks: Chunk[];
  readonly dir: string;
  readonly #rowPtr: Int32Array;
  readonly #colIdx: Int32Array;
  readonly #values: Float64Array;
  readonly #a: Float64Array;
  readonly #valRow: Int32Array;
  readonly #valCol: Int32Array;
  readonly #valValue: Float64Array;
  /** The column index of a chunk in hand (the dense form's factored Q); empty for the low-rank form. */
  readonly #colPtr: Int32Array;
  readonly #rowOf: Int32Array;
  readonly #posOf: Int32Array;
  #cache: { index: number; all: Csr; train: Csr } | null = null;
  /** Column offsets taken from every value a load or a prediction reads (the side biases, engine/side-bias.ts). */
  #offset: Float64Array | null = null;

  private constructor(d: number, n: number, dir: string, chunks: Chunk[], alloc: Alloc, columns: boolean) {
    this.d = d;
    this.n = n;
    this.dir = dir;
    this.chunks = chunks;
    let rows = 0;
    let train = 0;
    let val = 0;
    for (const c of chunks) {
      rows = Math.max(rows, c.r1 - c.r0);
      train = Math.max(train, c.nTrain);
      val = Math.max(val, c.nVal);
    }
    this.#rowPtr = alloc('i32', rows + 1);
    this.#colIdx = alloc('i32', train);
    this.#values = alloc('f64', train);
    this.#a = alloc('f64', train);
    this.#valRow = alloc('i32', val);
    this.#valCol = alloc('i32', val);
    this.#valValue = alloc('f64', val);
    this.#colPtr = alloc('i32', columns ? d + 1 : 0);
    this.#rowOf = alloc('i32', columns ? train : 0);
    this.#posOf = alloc('i32', columns ? train : 0);
  }

  /**
   * Writes the prepared data as chunks of whole solve blocks (plan.solve), each at most
   * o.chunkEntries observed entries unless one block alone has more. `shared` puts the work arrays
   * in SharedArrayBuffers (for a pool); `columns` gives a chunk in hand its column index.
   */
  static create(data: PreparedData, shape: RowShape, plan: Pick<SweepPlan, 'solve'>, o: SpillOptions, shared: boolean, columns = true): SpillStore {
    const { all } = data;
    const n = all.nRows;
    const nnz = all.rowPtr[n]!;
    const row = new Int32Array(nnz);
    const held = new Uint8Array(nnz);
    let v = 0;
    for (let i = 0; i < n; i++) {
      row.fill(i, all.rowPtr[i]!, all.rowPtr[i + 1]!);
      for (let p = all.rowPtr[i]!; p < all.rowPtr[i + 1]!; p++) {
        if (v < data.valRow.length && data.valRow[v] === i && data.valCol[v] === all.colIdx[p]) {
          held[p] = 1;
          v++;
        }
      }
    }
    if (v !== data.valRow.length) throw new RangeError(`spill: matched ${v} of ${data.valRow.length} held-out entries`);
    const block: PreparedBlock = { r0: 0, nnz, row, col: all.colIdx, value: all.values, held };
    return SpillStore.fromBlocks(shape, plan, [block], o, shared, columns);
  }

  /**
   * Writes chunks of whole solve blocks, as create, from the prepared rows given as blocks of
   * entries in ascending rows (a spilled load's buckets, read one at a time): the chunks, and so
   * the run, are the same whichever way the rows arrive.
   */
  static fromBlocks(
    shape: Pick<RowShape, 'n' | 'd' | 'trainLen' | 'valStart'>, plan: Pick<SweepPlan, 'solve'>, blocks: Iterable<PreparedBlock>, o: SpillOptions, shared: boolean, columns = true,
  ): SpillStore {
    const { n, d, trainLen, valStart } = shape;
    makeDir(o.dir);
    // chunks of an earlier run that was killed (kill -9, a second signal) before it could remove them
    for (const f of readdirSync(o.dir)) if (/^chunk-\d+\.arrow(\.tmp-.*)?$/.test(f)) rmSync(join(o.dir, f), { force: true });
    // entries before each row: all of them, and the training ones
    const allPtr = new Float64Array(n + 1);
    const trainPtr = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      trainPtr[i + 1] = trainPtr[i]! + trainLen[i]!;
      allPtr[i + 1] = trainPtr[i + 1]! + valStart[i + 1]!;
    }
    const chunks: Chunk[] = [];
    let b0 = 0;
    while (b0 < plan.solve.length) {
      let b1 = b0 + 1;
      const r0 = plan.solve[b0]![0];
      while (b1 < plan.solve.length && allPtr[plan.solve[b1]![1]]! - allPtr[r0]! <= o.chunkEntries) b1++;
      const r1 = plan.solve[b1 - 1]![1];
      const v0 = plan.solve[b0]![2];
      const v1 = plan.solve[b1 - 1]![3];
      const index = chunks.length;
      chunks.push({
        index,
        path: join(o.dir, `chunk-${String(index).padStart(5, '0')}.arrow`),
        r0, r1, b0, b1, v0,
        nnz: allPtr[r1]! - allPtr[r0]!,
        nTrain: trainPtr[r1]! - trainPtr[r0]!,
        nVal: v1 - v0,
      });
      b0 = b1;
    }
    try {
      writeChunks(chunks, blocks);
    } catch (err) {
      for (const c of chunks) rmSync(c.path, { force: true });
      throw err;
    }
    const alloc = ((kind: 'f64' | 'i32', len: number) => {
      const bytes = (kind === 'f64' ? 8 : 4) * len;
      const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      return kind === 'f64' ? new Float64Array(buf) : new Int32Array(buf);
    }) as Alloc;
    return new SpillStore(d, n, o.dir, chunks, alloc, columns);
  }

  /** The solve blocks of chunk c, in the chunk's local rows and held-out entries. */
  /** Values are read as value - b_j from here on (null: as written); a copy of b is kept. */
  setOffset(b: Float64Array | null): void {
    this.#offset = b === null ? null : b.slice();
    this.#cache = null;
  }

  solveRanges(plan: SweepPlan, c: Chunk): Array<[number, number, number, number]> {
    return plan.solve.slice(c.b0, c.b1).map(([r0, r1, v0, v1]) => [r0 - c.r0, r1 - c.r0, v0 - c.v0, v1 - c.v0]);
  }

  /**
   * Loads chunk c into the work arrays and points `s` at them: its training rows (local row
   * numbers), their column index, its held-out entries, and the coefficient slice.
   */
  load(c: Chunk, s: SweepArrays): void {
    const e = readChunk(c.path, c.nnz);
    const rows = c.r1 - c.r0;
    const rowPtr = this.#rowPtr.subarray(0, rows + 1);
    const { train: t, held: v } = splitChunk(e, c.nnz, rows, { rowPtr, colIdx: this.#colIdx, values: this.#values, valRow: this.#valRow, valCol: this.#valCol, valValue: this.#valValue });
    if (t !== c.nTrain || v !== c.nVal) throw new RangeError(`${c.path}: ${t} training and ${v} held-out entries, expected ${c.nTrain} and ${c.nVal}`);
    const off = this.#offset;
    if (off !== null) {
      offsetInto(this.#values, this.#colIdx, off, this.#values, t);
      offsetInto(this.#valValue, this.#valCol, off, this.#valValue, v);
    }
    const train: Csr = { nRows: rows, nCols: this.d, rowPtr, colIdx: this.#colIdx.subarray(0, t), values: this.#values.subarray(0, t) };
    s.train = train;
    s.a = this.#a.subarray(0, t);
    s.valRow = this.#valRow.subarray(0, v);
    s.valCol = this.#valCol.subarray(0, v);
    s.valValue = this.#valValue.subarray(0, v);
    s.cols = this.#colPtr.length === 0 ? null : columnIndexInto(train, this.#colPtr, this.#rowOf.subarray(0, t), this.#posOf.subarray(0, t));
  }

  /**
   * Predictions at (row, col) pairs given in input coordinates (`data` says whether the matrix is
   * transposed): each chunk holding requested rows is read once per call (the last one stays
   * cached, so calls that walk the rows in order read each chunk once) and `solve` predicts its
   * pairs, in the chunk's rows, from a view of its entries (all of them, and the training ones).
   * Out-of-range pairs get NaN.
   */
  predict(
    data: Pick<PreparedData, 'transposed' | 'scale'>, rows: Int32Array, cols: Int32Array, out: Float64Array,
    solve: (view: PreparedData, chunk: Chunk, lr: Int32Array, lc: Int32Array, out: Float64Array) => Float64Array,
  ): Float64Array {
    const orow = data.transposed ? cols : rows;
    const ocol = data.transposed ? rows : cols;
    const count = orow.length;
    const which = new Int32Array(count);
    const perChunk = new Int32Array(this.chunks.length + 1);
    for (let e = 0; e < count; e++) {
      const i = orow[e]!;
      const j = ocol[e]!;
      const c = i >= 0 && i < this.n && j >= 0 && j < this.d ? this.chunkOf(i) : -1;
      which[e] = c;
      if (c < 0) out[e] = Number.NaN;
      else perChunk[c + 1]!++;
    }
    for (let c = 0; c < this.chunks.length; c++) perChunk[c + 1]! += perChunk[c]!;
    const order = new Int32Array(perChunk[this.chunks.length]!);
    const next = perChunk.slice(0, this.chunks.length);
    for (let e = 0; e < count; e++) if (which[e]! >= 0) order[next[which[e]!]!++] = e;
    for (let c = 0; c < this.chunks.length; c++) {
      const q0 = perChunk[c]!;
      const q1 = perChunk[c + 1]!;
      if (q0 === q1) continue;
      const chunk = this.chunks[c]!;
      const m = this.#cached(chunk);
      const lr = new Int32Array(q1 - q0);
      const lc = new Int32Array(q1 - q0);
      for (let q = q0; q < q1; q++) {
        lr[q - q0] = orow[order[q]!]! - chunk.r0;
        lc[q - q0] = ocol[order[q]!]!;
      }
      const view: PreparedData = {
        transposed: false, scale: data.scale, all: m.all, train: m.train,
        valRow: new Int32Array(0), valCol: new Int32Array(0), valValue: new Float64Array(0),
      };
      const part = solve(view, chunk, lr, lc, new Float64Array(q1 - q0));
      for (let q = q0; q < q1; q++) out[order[q]!] = part[q - q0]!;
    }
    return out;
  }

  /** The chunk holding oriented row i. */
  chunkOf(i: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.chunks[mid]!.r0 <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #cached(c: Chunk): { all: Csr; train: Csr } {
    if (this.#cache?.index === c.index) return this.#cache;
    this.#cache = null;
    const e = readChunk(c.path, c.nnz);
    const rows = c.r1 - c.r0;
    const allPtr = new Int32Array(rows + 1);
    const trainPtr = new Int32Array(rows + 1);
    const tCol = new Int32Array(c.nTrain);
    const tVal = new Float64Array(c.nTrain);
    let t = 0;
    for (let p = 0; p < c.nnz; p++) {
      allPtr[e.row[p]! + 1]!++;
      if (e.held[p] !== 1) {
        trainPtr[e.row[p]! + 1]!++;
        tCol[t] = e.col[p]!;
        tVal[t++] = e.value[p]!;
      }
    }
    for (let i = 0; i < rows; i++) {
      allPtr[i + 1]! += allPtr[i]!;
      trainPtr[i + 1]! += trainPtr[i]!;
    }
    const off = this.#offset;
    const values = off === null ? e.value.slice() : offsetInto(e.value, e.col, off, new Float64Array(e.value.length), e.value.length);
    if (off !== null) offsetInto(tVal, tCol, off, tVal, t);
    const all: Csr = { nRows: rows, nCols: this.d, rowPtr: allPtr, colIdx: e.col.slice(), values };
    const train: Csr = { nRows: rows, nCols: this.d, rowPtr: trainPtr, colIdx: tCol, values: tVal };
    this.#cache = { index: c.index, all, train };
    return this.#cache;
  }

  /** Removes the chunk files and the directory (when it is left empty). */
  dispose(): void {
    this.#cache = null;
    for (const c of this.chunks) rmSync(c.path, { force: true });
    try {
      rmdirSync(this.dir);
    } catch {
      // not empty (other files of the user's) or already gone
    }
  }
}

/** Where splitChunk puts a chunk's entries: sized for it (rowPtr exactly rows + 1). */
export interface SplitArrays {
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float64Array;
  valRow: Int32Array;
  valCol: Int32Array;
  valValue: Float64Array;
}

/**
 * A chunk's entries (CSR order, local rows) as a run reads them: its training rows (rowPtr
 * prefix-summed, colIdx, values) and its held-out entries (row, col, value), each in file order.
 * Returns how many of each it met; the caller compares them with what the chunk should hold
 * (entries past the arrays' ends are counted, not written).
 */
export function splitChunk(e: ChunkEntries, nnz: number, rows: number, o: SplitArrays): { train: number; held: number } {
  const { rowPtr } = o;
  rowPtr.fill(0);
  let t = 0;
  let v = 0;
  for (let p = 0; p < nnz; p++) {
    if (e.held[p] === 1) {
      o.valRow[v] = e.row[p]!;
      o.valCol[v] = e.col[p]!;
      o.valValue[v++] = e.value[p]!;
    } else {
      o.colIdx[t] = e.col[p]!;
      o.values[t++] = e.value[p]!;
      rowPtr[e.row[p]! + 1]!++;
    }
  }
  for (let i = 0; i < rows; i++) rowPtr[i + 1]! += rowPtr[i]!;
  return { train: t, held: v };
}

/** Rows of prepared entries: entry p is (r0 + row[p], col[p]) = value[p], held out when held[p] = 1; rows ascending, columns ascending within a row. */
export interface PreparedBlock {
  r0: number;
  nnz: number;
  row: Int32Array;
  col: Int32Array;
  value: Float64Array;
  held: Uint8Array;
}

/** Copies the blocks' entries into the chunks' files, one chunk in memory at a time. */
function writeChunks(chunks: Chunk[], blocks: Iterable<PreparedBlock>): void {
  let ci = 0;
  let fill = 0;
  let held = 0;
  let out: ChunkEntries | null = null;
  const open = (c: Chunk): ChunkEntries => ({ row: new Int32Array(c.nnz), col: new Int32Array(c.nnz), value: new Float64Array(c.nnz), held: new Uint8Array(c.nnz) });
  const close = (): void => {
    const c = chunks[ci]!;
    if (fill !== c.nnz || held !== c.nVal) throw new RangeError(`spill: chunk ${c.index} got ${fill} entries (${held} held out), expected ${c.nnz} (${c.nVal})`);
    writeChunk(c.path, out ?? open(c));
    ci++;
    fill = 0;
    held = 0;
    out = null;
  };
  for (const b of blocks) {
    for (let p = 0; p < b.nnz; p++) {
      const i = b.r0 + b.row[p]!;
      while (i >= chunks[ci]!.r1) close();
      const c = chunks[ci]!;
      out ??= open(c);
      out.row[fill] = i - c.r0;
      out.col[fill] = b.col[p]!;
      out.value[fill] = b.value[p]!;
      out.held[fill] = b.held[p]!;
      held += b.held[p]!;
      fill++;
    }
  }
  while (ci < chunks.length) close();
}
