// Spill files: one row-partitioned chunk of a matrix's observed entries as an Arrow IPC file
// (columns row, col, value, held), written atomically and read back whole.

import { readFileSync } from 'node:fs';
import { tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { Errors } from '../config/errors.ts';
import { writeFileAtomicSync } from './atomic.ts';

/** The entries of one chunk in CSR order: row (local to the chunk), column, value, held out (1) or not (0). */
export interface ChunkEntries {
  row: Int32Array;
  col: Int32Array;
  value: Float64Array;
  held: Uint8Array;
}

export function writeChunk(path: string, e: ChunkEntries): void {
  const table = tableFromArrays({ row: e.row, col: e.col, value: e.value, held: e.held });
  writeFileAtomicSync(path, tableToIPC(table, 'file'), 'spill chunk');
}

function column<T extends Int32Array | Float64Array | Uint8Array>(path: string, t: Table, name: string, type: new (n: number) => T, n: number): T {
  const v = t.getChild(name)?.toArray() as unknown;
  if (!(v instanceof type) || v.length !== n) throw Errors.BadData(path, `column "${name}"`, `expected ${n} values of ${type.name}`);
  return v;
}

/**
 * Reads a chunk back; `nnz` is the entry count it was written with. The arrays are views of the
 * file's bytes (one record batch), valid until the caller drops them.
 */
export function readChunk(path: string, nnz: number): ChunkEntries {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw Errors.Io(path, `spill file unreadable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return chunkFromBytes(path, bytes, nnz);
}

/** A chunk from its file's bytes however they were fetched (a shared directory, an object store); `name` for errors. */
/**
 * At most how large a spill file of nnz entries is: 17 bytes an entry (row, col, value, held),
 * each column padded, and the file's schema and footer; a reader refuses a larger one unread.
 */
export function chunkFileBound(nnz: number): number {
  return 24 * nnz + 65_536;
}

export function chunkFromBytes(name: string, bytes: Uint8Array, nnz: number): ChunkEntries {
  let t: Table;
  try {
    t = tableFromIPC(bytes) as Table;
  } catch (err) {
    throw Errors.Io(name, `spill file unreadable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (t.batches.length > 1) throw Errors.BadData(name, 'file', 'a spill file holds one record batch');
  return {
    row: column(name, t, 'row', Int32Array, nnz),
    col: column(name, t, 'col', Int32Array, nnz),
    value: column(name, t, 'value', Float64Array, nnz),
    held: column(name, t, 'held', Uint8Array, nnz),
  };
}
