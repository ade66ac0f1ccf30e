// What the readers of observed entries and pairs give back, in either format: triplets (kept, or
// streamed to a callback a buffer at a time), pairs to predict, and the options of a read.

import { Errors } from '../config/errors.ts';
import type { KeyDictionary } from './key-dictionary.ts';

export interface Triplets {
  file: string;
  rowKeys: KeyDictionary;
  colKeys: KeyDictionary;
  /**
   * Entry i is (rows[i], cols[i]) = values[i], in file order; every array has exactly nnz elements,
   * except in streaming mode (TripletColumns.onEntries), where the entries went to the callback and
   * these are empty.
   */
  rows: Int32Array<ArrayBuffer>;
  cols: Int32Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  nnz: number;
  /** Streaming mode only: where the entry with a given ordinal came from, for the caller's messages. */
  locate?: EntryLocator;
}

/**
 * Turns an entry's ordinal (see TripletColumns.onEntries) into the file and the place in it, in the
 * same words the reader's own messages use: `line N` (CSV) or `row group G, row R` (Parquet).
 */
export type EntryLocator = (ordinal: number) => { file: string; where: string };

/** The entries of a streaming read, in file order; the arrays are reused, only the first n elements count. */
export type EntriesCallback = (rows: Int32Array, cols: Int32Array, values: Float64Array, ordinals: Float64Array, n: number) => void;

/** A partition key and the values whose directories are read (--filter key=v1,v2). */
export interface PartitionFilter {
  key: string;
  values: string[];
}

/** Whether a dataset file's path, below the dataset directory, passes the filter: some directory on it is key=value with a listed value. */
export function passesPartitions(relative: string[], f: PartitionFilter | undefined): boolean {
  if (f === undefined) return true;
  return relative.some((part) => {
    const eq = part.indexOf('=');
    return eq > 0 && part.slice(0, eq) === f.key && f.values.includes(part.slice(eq + 1));
  });
}

export interface TripletColumns {
  rowKey?: string;
  colKey?: string;
  valueKey?: string;
  /**
   * A NaN value (what predictions.csv holds for a pair without a prediction): an error (default),
   * or kept as NaN ('keep'; a CSV's text must be exactly NaN). Infinities are refused either way.
   */
  nan?: 'error' | 'keep';
  /**
   * Parquet datasets only: read the files under a Hive-style partition directory `key=value` with
   * one of these values (`date=2026-12-01/part-0.parquet`), the others skipped.
   */
  partitions?: PartitionFilter | undefined;
  /** CSV only: the field separator, one character or `tab` (default: a tab for *.tsv, else a comma). */
  delimiter?: string | undefined;
  /** A (row, col) pair given twice: an error (default), or kept for the caller to merge (io/duplicates.ts). */
  duplicates?: 'error' | 'last' | 'mean';
  /** Called as rows are read (Parquet: after each row group; CSV: after each read) with the rows so far, the file number and the file count. */
  onProgress?: (rowsRead: number, file: number, files: number) => void;
  /**
   * Streaming mode, for inputs too big to hold as one array: the reader buffers at most about
   * `streamEntries` entries and hands them over in file order, a buffer at a time. The arrays are
   * reused once the call returns, so the callback copies what it keeps; only the first n elements are
   * meaningful. ordinals[e] locates entry e for messages (Triplets.locate turns it into words): for
   * CSV its 1-based line number, for Parquet its 0-based entry index in dataset order. The result
   * then has empty rows, cols and values but the full nnz (entries delivered) and the dictionaries.
   * Duplicate pairs are not checked whatever `duplicates` says, since that needs all entries at once:
   * the caller checks them. Every other check stays, but an error may come after some entries were
   * delivered. An error the callback throws ends the read and is rethrown as is.
   */
  onEntries?: EntriesCallback;
  /** Entries buffered between onEntries calls (default 1 << 16); a Parquet batch bigger than this is handed over whole. */
  streamEntries?: number;
  /**
   * Dictionaries to intern the keys into instead of new ones: a second read of the same input (a
   * spilled load's) reuses the first's, so the keys are held once and get the same indices.
   */
  keys?: { rowKeys: KeyDictionary; colKeys: KeyDictionary };
}

/** What a streaming read returns: the keys and the count; the entries went to onEntries. */
export function streamedTriplets(
  file: string, keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary }, nnz: number, locate: EntryLocator,
): Triplets {
  const { rowKeys, colKeys } = keys;
  return { file, rowKeys, colKeys, rows: new Int32Array(0), cols: new Int32Array(0), values: new Float64Array(0), nnz, locate };
}

/** The streaming options of a triplet read, checked; null when entries are to be kept in memory. */
export function entryStream(opts: TripletColumns): { onEntries: EntriesCallback; size: number } | null {
  if (opts.onEntries === undefined) return null;
  const size = opts.streamEntries ?? 1 << 16;
  if (!Number.isSafeInteger(size) || size < 1) throw Errors.Config('streamEntries', size, 'must be a positive integer');
  return { onEntries: opts.onEntries, size };
}

export interface Pairs {
  file: string;
  /** The key text exactly as in the file, so output can echo it even for keys unseen in training. */
  rowText: string[];
  colText: string[];
  /** Dense index in the training dictionaries, or -1 for a key training never saw. */
  rows: Int32Array<ArrayBuffer>;
  cols: Int32Array<ArrayBuffer>;
  n: number;
}
