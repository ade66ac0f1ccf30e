// Rewrites a Parquet footer without its page-index references, so a broken page index cannot stop a full read.

import { open } from 'node:fs/promises';

/**
 * Why: parquet-wasm 0.8's ParquetFile loads every column's page index (ColumnIndex, OffsetIndex) on
 * open and fails, with an uncatchable error, when one is malformed; parquetjs-lite writes
 * ColumnIndex structs without their required null_pages field by default. A full scan never needs
 * the page index (it only helps skip pages), so the reader is handed the file with a footer that no
 * longer points at it: ColumnChunk fields 4-7 (offset_index_offset/length, column_index_offset/length)
 * are dropped and everything else is copied byte for byte. That also spares the reader the I/O.
 */
export interface FooterPatch {
  /** Bytes of the original file to keep: everything before the footer metadata. */
  keep: number;
  /** The rewritten metadata followed by its 4-byte little-endian length and "PAR1". */
  footer: Uint8Array<ArrayBuffer>;
}

const MAGIC = 0x31524150; // "PAR1" read as a little-endian uint32

/**
 * The patch for the file at `path`, or null when there is nothing to strip or the footer cannot be
 * parsed (then the reader sees the file as it is and reports what is wrong with it in its own words).
 */
export async function pageIndexPatch(path: string): Promise<FooterPatch | null> {
  const found = await readFooterMeta(path);
  if (found === null) return null;
  const { meta, size } = found;
  const stripped = stripPageIndex(meta);
  if (stripped === null) return null;
  const footer = new Uint8Array(stripped.length + 8);
  footer.set(stripped);
  const out = new DataView(footer.buffer);
  out.setUint32(stripped.length, stripped.length, true);
  out.setUint32(stripped.length + 4, MAGIC, true);
  return { keep: size - 8 - meta.length, footer };
}

/** The thrift FileMetaData bytes of the Parquet file at `path` and the file's size, or null when it has no valid footer. */
async function readFooterMeta(path: string): Promise<{ meta: Uint8Array; size: number } | null> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < 12) return null;
    const tail = new Uint8Array(8);
    await fh.read(tail, 0, 8, size - 8);
    const view = new DataView(tail.buffer);
    const length = view.getUint32(0, true);
    if (view.getUint32(4, true) !== MAGIC || length > size - 12) return null;
    const meta = new Uint8Array(length);
    await fh.read(meta, 0, length, size - 8 - length);
    return { meta, size };
  } finally {
    await fh.close();
  }
}

/**
 * The row count a Parquet file's footer declares (FileMetaData field 3, num_rows), read without
 * decoding any data; null when the footer cannot be read or has no such field.
 */
export async function footerRowCount(path: string): Promise<number | null> {
  const found = await readFooterMeta(path);
  if (found === null) return null;
  const r = new CompactReader(found.meta);
  try {
    let last = 0;
    for (;;) {
      const header = r.byte();
      if (header === T_STOP) return null;
      const type = header & 0x0f;
      const delta = header >> 4;
      const id = delta === 0 ? zigzagDecode(r.varint32()) : last + delta;
      last = id;
      if (id === 3 && type === T_I64) {
        // zigzag, without the 32-bit operators: counts past 2^31 are the point
        const u = r.varint64();
        return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      }
      r.skip(type, false);
    }
  } catch {
    return null;
  }
}

/**
 * The thrift-compact FileMetaData `meta` without any ColumnChunk page-index fields, or null if it
 * has none or is not well-formed.
 */
export function stripPageIndex(meta: Uint8Array): Uint8Array | null {
  const r = new CompactReader(meta);
  const w = new ByteWriter(meta.length);
  let dropped = 0;
  try {
    // FileMetaData field 4 is row_groups: list<RowGroup>; RowGroup field 1 is columns: list<ColumnChunk>.
    const columnChunk = (id: number): FieldAction => {
      if (id < 4 || id > 7) return 'copy';
      dropped++;
      return 'drop';
    };
    const rowGroup = (id: number, type: number): FieldAction =>
      id === 1 && type === T_LIST ? () => copyList(r, w, T_STRUCT, () => copyStruct(r, w, columnChunk)) : 'copy';
    copyStruct(r, w, (id, type) => (id === 4 && type === T_LIST ? () => copyList(r, w, T_STRUCT, () => copyStruct(r, w, rowGroup)) : 'copy'));
  } catch {
    return null;
  }
  // Bytes after the struct would be lost in the copy: leave such a footer alone.
  if (r.pos !== meta.length) return null;
  return dropped === 0 ? null : w.bytes();
}

// Thrift compact protocol type codes.
const T_STOP = 0;
const T_TRUE = 1;
const T_FALSE = 2;
const T_BYTE = 3;
const T_I16 = 4;
const T_I32 = 5;
const T_I64 = 6;
const T_DOUBLE = 7;
const T_BINARY = 8;
const T_LIST = 9;
const T_SET = 10;
const T_MAP = 11;
const T_STRUCT = 12;
const T_UUID = 13;

/** Deeper than any real footer; a crafted one must not overflow the stack. */
const MAX_DEPTH = 64;

class CompactReader {
  pos = 0;
  depth = 0;

  constructor(readonly buf: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError('thrift: past the end');
    return this.buf[this.pos++];
  }

  /** An unsigned varint up to 32 bits (lengths, sizes, field ids). */
  varint32(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    throw new RangeError('thrift: varint too long');
  }

  /** An unsigned varint up to 64 bits, exact below 2^53. */
  varint64(): number {
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    throw new RangeError('thrift: varint too long');
  }

  skipVarint(): void {
    for (let k = 0; k < 10; k++) if ((this.byte() & 0x80) === 0) return;
    throw new RangeError('thrift: varint too long');
  }

  skipBytes(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new RangeError('thrift: past the end');
    this.pos += n;
  }

  /** Skips one value of `type`; in lists, sets and maps a bool takes a byte, in a struct field none. */
  skip(type: number, inCollection: boolean): void {
    switch (type) {
      case T_TRUE:
      case T_FALSE:
        if (inCollection) this.skipBytes(1);
        return;
      case T_BYTE:
        this.skipBytes(1);
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.skipVarint();
        return;
      case T_DOUBLE:
        this.skipBytes(8);
        return;
      case T_BINARY:
        this.skipBytes(this.varint32());
        return;
      case T_UUID:
        this.skipBytes(16);
        return;
      case T_LIST:
      case T_SET: {
        const [size, elem] = this.listHeader();
        this.nest(() => {
          for (let i = 0; i < size; i++) this.skip(elem, true);
        });
        return;
      }
      case T_MAP: {
        const size = this.varint32();
        if (size === 0) return;
        const kv = this.byte();
        this.nest(() => {
          for (let i = 0; i < size; i++) {
            this.skip(kv >> 4, true);
            this.skip(kv & 0x0f, true);
          }
        });
        return;
      }
      case T_STRUCT:
        this.nest(() => {
          for (;;) {
            const header = this.byte();
            if (header === T_STOP) return;
            if (header >> 4 === 0) this.skipVarint();
            this.skip(header & 0x0f, false);
          }
        });
        return;
      default:
        throw new RangeError(`thrift: unknown type ${type}`);
    }
  }

  /** [size, element type] of a list or set. */
  listHeader(): [number, number] {
    const b = this.byte();
    const size = b >> 4 === 15 ? this.varint32() : b >> 4;
    return [size, b & 0x0f];
  }

  nest(body: () => void): void {
    if (++this.depth > MAX_DEPTH) throw new RangeError('thrift: nested too deeply');
    body();
    this.depth--;
  }
}

class ByteWriter {
  private buf: Uint8Array<ArrayBuffer>;
  private length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 64));
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  copy(src: Uint8Array, start: number, end: number): void {
    if (this.length + (end - start) > this.buf.length) this.grow(end - start);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** Zigzag varint, for an i16 field id. */
  zigzag(v: number): void {
    let u = ((v << 1) ^ (v >> 31)) >>> 0;
    while (u >= 0x80) {
      this.byte((u & 0x7f) | 0x80);
      u >>>= 7;
    }
    this.byte(u);
  }

  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }

  private grow(need: number): void {
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + need));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }
}

/** What to do with one struct field: copy it verbatim, leave it out, or write its value yourself. */
type FieldAction = 'copy' | 'drop' | (() => void);

/**
 * Copies a struct field by field, asking `action(id, type)` for each. Field headers are re-encoded,
 * since dropping a field changes the id delta of the next one; a function action is called after
 * the field's header is written and must copy the value.
 */
function copyStruct(r: CompactReader, w: ByteWriter, action: (id: number, type: number) => FieldAction): void {
  r.nest(() => {
    let lastRead = 0;
    let lastWritten = 0;
    for (;;) {
      const header = r.byte();
      if (header === T_STOP) {
        w.byte(T_STOP);
        return;
      }
      const type = header & 0x0f;
      const delta = header >> 4;
      const id = delta === 0 ? zigzagDecode(r.varint32()) : lastRead + delta;
      lastRead = id;
      const act = action(id, type);
      if (act === 'drop') {
        r.skip(type, false);
        continue;
      }
      writeFieldHeader(w, id, lastWritten, type);
      lastWritten = id;
      if (act === 'copy') {
        const start = r.pos;
        r.skip(type, false);
        w.copy(r.buf, start, r.pos);
      } else {
        act();
      }
    }
  });
}

function zigzagDecode(u: number): number {
  return (u >>> 1) ^ -(u & 1);
}

function writeFieldHeader(w: ByteWriter, id: number, last: number, type: number): void {
  const delta = id - last;
  if (delta > 0 && delta <= 15) w.byte((delta << 4) | type);
  else {
    w.byte(type);
    w.zigzag(id);
  }
}

function copyList(r: CompactReader, w: ByteWriter, elem: number, element: () => void): void {
  const headerStart = r.pos;
  const [size, type] = r.listHeader();
  if (type !== elem) throw new RangeError(`thrift: list of type ${type}, expected ${elem}`);
  w.copy(r.buf, headerStart, r.pos);
  r.nest(() => {
    for (let i = 0; i < size; i++) element();
  });
}
