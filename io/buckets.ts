// Bucket files of a spilled load: the observed entries as they arrive, routed by row range into
// one append-only file per bucket, then read back one bucket at a time.
//
// A file is a sequence of frames: n (uint32), then n rows (int32), n columns (int32), n values
// (float64) and n ordinals (float64, where the entry was in the input). Each bucket buffers its
// entries and appends a frame when the buffer is full, opening and closing the file each time,
// so a load with thousands of buckets never holds thousands of descriptors.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Errors } from '../config/errors.ts';

export interface BucketEntries {
  row: Int32Array;
  col: Int32Array;
  value: Float64Array;
  ordinal: Float64Array;
  n: number;
}

export class BucketWriter {
  readonly paths: string[];
  /** Entries appended to each bucket. */
  readonly counts: Float64Array;
  readonly #fill: Int32Array;
  #row: Int32Array;
  #col: Int32Array;
  #value: Float64Array;
  #ordinal: Float64Array;
  readonly #per: number;

  /** `buffered`: entries each bucket holds before it appends a frame. */
  constructor(dir: string, buckets: number, buffered: number, prefix = 'bucket') {
    this.paths = Array.from({ length: buckets }, (_, b) => join(dir, `${prefix}-${String(b).padStart(5, '0')}.bin`));
    for (const p of this.paths) rmSync(p, { force: true });
    this.counts = new Float64Array(buckets);
    this.#fill = new Int32Array(buckets);
    this.#per = Math.max(1, buffered);
    this.#row = new Int32Array(buckets * this.#per);
    this.#col = new Int32Array(buckets * this.#per);
    this.#value = new Float64Array(buckets * this.#per);
    this.#ordinal = new Float64Array(buckets * this.#per);
  }

  add(bucket: number, row: number, col: number, value: number, ordinal: number): void {
    const k = this.#fill[bucket]!;
    const at = bucket * this.#per + k;
    this.#row[at] = row;
    this.#col[at] = col;
    this.#value[at] = value;
    this.#ordinal[at] = ordinal;
    this.#fill[bucket] = k + 1;
    this.counts[bucket]!++;
    if (k + 1 === this.#per) this.#flush(bucket);
  }

  /** Frees the write buffers (after finish). */
  release(): void {
    this.#row = new Int32Array(0);
    this.#col = new Int32Array(0);
    this.#value = new Float64Array(0);
    this.#ordinal = new Float64Array(0);
  }

  /** Appends what every bucket still buffers. */
  finish(): void {
    for (let b = 0; b < this.paths.length; b++) this.#flush(b);
  }

  #flush(b: number): void {
    const n = this.#fill[b]!;
    if (n === 0) return;
    const at = b * this.#per;
    const head = new Uint32Array([n]);
    const parts = [
      head,
      this.#row.subarray(at, at + n),
      this.#col.subarray(at, at + n),
      this.#value.subarray(at, at + n),
      this.#ordinal.subarray(at, at + n),
    ];
    let fd: number;
    try {
      fd = openSync(this.paths[b]!, 'a');
    } catch (err) {
      throw Errors.Io(this.paths[b]!, `cannot write a load bucket: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    try {
      for (const p of parts) {
        const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      }
    } catch (err) {
      throw Errors.Io(this.paths[b]!, `cannot write a load bucket: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      closeSync(fd);
    }
    this.#fill[b] = 0;
  }
}

/** Reads a whole bucket file back, its frames concatenated in the order they were appended. */
export function readBucket(path: string, expected: number): BucketEntries {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && expected === 0) return empty();
    throw Errors.Io(path, `load bucket unreadable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const out: BucketEntries = {
    row: new Int32Array(expected),
    col: new Int32Array(expected),
    value: new Float64Array(expected),
    ordinal: new Float64Array(expected),
    n: 0,
  };
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) break;
    const n = buf.readUInt32LE(off);
    off += 4;
    const end = off + 24 * n;
    if (end > buf.length || out.n + n > expected) break;
    // copy through a fresh aligned buffer: frame offsets are not multiples of 8
    const frame = new Uint8Array(24 * n);
    frame.set(buf.subarray(off, end));
    out.row.set(new Int32Array(frame.buffer, 0, n), out.n);
    out.col.set(new Int32Array(frame.buffer, 4 * n, n), out.n);
    out.value.set(new Float64Array(frame.buffer, 8 * n, n), out.n);
    out.ordinal.set(new Float64Array(frame.buffer, 16 * n, n), out.n);
    out.n += n;
    off = end;
  }
  if (off !== buf.length || out.n !== expected) {
    throw Errors.Io(path, `load bucket damaged: ${out.n} of ${expected} entries readable`);
  }
  return out;
}

function empty(): BucketEntries {
  return { row: new Int32Array(0), col: new Int32Array(0), value: new Float64Array(0), ordinal: new Float64Array(0), n: 0 };
}
