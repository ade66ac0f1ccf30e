// Streams a CSV file as records of byte ranges and hands each record's wanted fields to a sink; shared by the CSV readers.

import { Buffer } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { Errors, type LinRfmError } from '../config/errors.ts';
import { inputError, MAX_RECORD_BYTES, notText, scanGzip, separatorOf } from './csv-bytes.ts';

export { inputError, MAX_RECORD_BYTES, notText, separatorOf };

/**
 * Receives records as byte ranges: field `slot` is src[start[slot]..end[slot]), raw UTF-8 with
 * quotes already removed. Working on bytes lets the sink skip building a string per field.
 */
export interface RecordSink {
  /** What the header should look like, for the empty-file message, e.g. `columns "row", "col", "value"`. */
  readonly expectedHeader: string;
  /**
   * Sees the header's fields (unquoted, untrimmed) and returns, for each of them, the slot it
   * fills, or -1 to ignore it. Throws to reject the header.
   */
  header(fields: string[]): Int32Array;
  /** One data record. `src`, `start` and `end` are reused for the next record. */
  record(src: Buffer, start: Int32Array, end: Int32Array, line: number): void;
}

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;

/** Big enough that reads are few, small enough to stay in L2/L3 while it is scanned. */
const READ_BYTES = 1 << 20;

/**
 * Reads `file` to the end, feeding the header and then every data record to `sink`. `makeSink`
 * gets the file size so the sink can pre-size its arrays. `readBytes` is the initial buffer size;
 * tests make it tiny so records straddle reads at every possible offset.
 */
export async function scanCsvFile<S extends RecordSink>(
  file: string,
  makeSink: (bytes: number) => S,
  readBytes = READ_BYTES,
  onLines?: (lines: number) => void,
  sep = separatorOf(file),
): Promise<S> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw inputError(file, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Errors.MissingInput(file, 'is a directory, expected a CSV file');
    const head = Buffer.alloc(Math.min(st.size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) {
      // gzip: decompressed as a stream, never whole (a gzip file holds about a quarter of its text)
      const sink = makeSink(4 * st.size);
      await scanGzip(file, new CsvScanner(file, sink, sep), readBytes, onLines);
      return sink;
    }
    const what = notText(head);
    if (what !== null) throw Errors.BadData(file, '', what);
    const sink = makeSink(st.size);
    const scanner = new CsvScanner(file, sink, sep);
    let buf = Buffer.allocUnsafe(Math.max(1, readBytes));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length >= MAX_RECORD_BYTES) {
          throw Errors.BadData(file, `line ${scanner.line}`, `record longer than ${MAX_RECORD_BYTES} bytes (unclosed quote, or not a CSV file?)`);
        }
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, length, buf.length - length, null);
      length += bytesRead;
      const final = bytesRead === 0;
      const used = scanner.feed(buf.subarray(0, length), final);
      onLines?.(scanner.line - 1);
      if (final) break;
      // Keep the partial last record at the front; the next read appends to it.
      buf.copy(buf, 0, used, length);
      length -= used;
    }
    scanner.finish();
    return sink;
  } catch (err) {
    throw inputError(file, err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}


/**
 * The record splitter. A line without a double quote is split in one pass over its bytes, noting
 * only the wanted fields' ranges; a line with a quote anywhere goes through the full RFC 4180 parser,
 * which copies fields (unescaped) into a scratch buffer and lets a quoted field span lines.
 */
class CsvScanner {
  /** 1-based number of the line the next record starts on; the header is line 1. */
  line = 1;
  private headerLength = -1;
  private slotOf: Int32Array = new Int32Array(0);
  private start = new Int32Array(0);
  private end = new Int32Array(0);
  private scratch = Buffer.allocUnsafe(1 << 12);
  private readonly fieldStart: number[] = [];
  private readonly fieldEnd: number[] = [];
  /** First blank line not yet known to be trailing: blank lines are only allowed at the end. */
  private blankLine = 0;
  private atFileStart = true;

  constructor(
    private readonly file: string,
    private readonly sink: RecordSink,
    /** The field separator's byte (a comma, a tab, --delimiter). */
    private readonly sep: number = COMMA,
  ) {}

  /**
   * Consumes every complete record in `buf` and returns where the unconsumed rest starts. With
   * `final`, the end of `buf` also ends the last record.
   */
  feed(buf: Buffer, final: boolean): number {
    const n = buf.length;
    let pos = 0;
    if (this.atFileStart) {
      if (n < 3 && !final) return 0;
      this.atFileStart = false;
      // Spreadsheet exports often start with a UTF-8 BOM; left in, it would become part of the first column's name.
      if (n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    const sink = this.sink;
    const sep = this.sep;
    let slotOf = this.slotOf;
    let start = this.start;
    let end = this.end;
    let nh = this.headerLength;
    while (pos < n) {
      if (nh < 0) {
        const next = this.slowRecord(buf, pos, final);
        if (next < 0) break;
        pos = next;
        slotOf = this.slotOf;
        start = this.start;
        end = this.end;
        nh = this.headerLength;
        continue;
      }
      let field = 0;
      let from = pos;
      let i = pos;
      let quoted = false;
      for (; i < n; i++) {
        const b = buf[i];
        if (b === sep) {
          if (field < nh) {
            const slot = slotOf[field];
            if (slot >= 0) {
              start[slot] = from;
              end[slot] = i;
            }
          }
          field++;
          from = i + 1;
        } else if (b === LF) {
          break;
        } else if (b === QUOTE) {
          quoted = true;
          break;
        }
      }
      if (quoted) {
        const next = this.slowRecord(buf, pos, final);
        if (next < 0) break;
        pos = next;
        continue;
      }
      if (i === n && !final) break;
      const next = i < n ? i + 1 : n;
      let last = i;
      if (last > from && buf[last - 1] === CR) last--;
      if (last === pos) {
        this.blank();
        pos = next;
        continue;
      }
      if (field < nh) {
        const slot = slotOf[field];
        if (slot >= 0) {
          start[slot] = from;
          end[slot] = last;
        }
      }
      field++;
      if (field !== nh) {
        if (isBlank(buf, pos, last)) {
          this.blank();
          pos = next;
          continue;
        }
        throw this.fieldCountError(field);
      }
      if (this.blankLine !== 0) throw this.blankLineError();
      sink.record(buf, start, end, this.line);
      this.line++;
      pos = next;
    }
    return pos < n ? pos : n;
  }

  /** Ends the input: a file with no header line at all is an error. */
  finish(): void {
    if (this.headerLength < 0) {
      throw Errors.BadData(this.file, 'line 1', `empty file, expected a header line with ${this.sink.expectedHeader}`);
    }
  }

  /**
   * Parses one record starting at `pos` with full quoting rules; returns the index after its line
   * break, or -1 if the record may continue past the end of `buf` (only when not `final`).
   */
  private slowRecord(buf: Buffer, pos: number, final: boolean): number {
    const n = buf.length;
    const fieldStart = this.fieldStart;
    const fieldEnd = this.fieldEnd;
    fieldStart.length = 0;
    fieldEnd.length = 0;
    if (this.scratch.length < n - pos) this.scratch = Buffer.allocUnsafe(Math.max(n - pos, this.scratch.length * 2));
    const scratch = this.scratch;
    let used = 0;
    let innerLines = 0;
    let i = pos;
    let next: number;
    for (;;) {
      const from = used;
      if (i < n && buf[i] === QUOTE) {
        i++;
        for (;;) {
          // Byte loops rather than indexOf/copy: fields are short and each native call costs more than the loop.
          let q = i;
          while (q < n && buf[q] !== QUOTE) {
            if (buf[q] === LF) innerLines++;
            scratch[used++] = buf[q++];
          }
          if (q === n) {
            if (!final) return -1;
            throw Errors.BadData(this.file, `line ${this.line}`, `quoted field ${fieldStart.length + 1} is never closed`);
          }
          // A quote as the last byte may be half of a "" escape; the i >= n check below waits for more data.
          if (buf[q + 1] !== QUOTE) {
            i = q + 1;
            break;
          }
          scratch[used++] = QUOTE; // "" inside quotes is one literal quote
          i = q + 2;
        }
        fieldStart.push(from);
        fieldEnd.push(used);
        if (i >= n) {
          if (!final) return -1;
          next = n;
          break;
        }
        const c = buf[i];
        if (c === this.sep) {
          i++;
          continue;
        }
        if (c === LF) {
          next = i + 1;
          break;
        }
        if (c === CR && i + 1 >= n) {
          if (!final) return -1;
          next = n;
          break;
        }
        if (c === CR && buf[i + 1] === LF) {
          next = i + 2;
          break;
        }
        throw Errors.BadData(
          this.file,
          `line ${this.line}`,
          `unexpected ${JSON.stringify(String.fromCharCode(c))} after the closing quote of field ${fieldStart.length} (a quote inside a quoted field is written "")`,
        );
      } else {
        let j = i;
        while (j < n && buf[j] !== this.sep && buf[j] !== LF) j++;
        if (j === n && !final) return -1;
        if (j < n && buf[j] === this.sep) {
          used = copyBytes(buf, i, j, scratch, used);
          fieldStart.push(from);
          fieldEnd.push(used);
          i = j + 1;
          continue;
        }
        let last = j;
        if (last > i && buf[last - 1] === CR) last--;
        used = copyBytes(buf, i, last, scratch, used);
        fieldStart.push(from);
        fieldEnd.push(used);
        next = j < n ? j + 1 : n;
        break;
      }
    }
    const count = fieldStart.length;
    if (this.headerLength < 0) {
      const fields: string[] = [];
      for (let f = 0; f < count; f++) fields.push(scratch.toString('utf8', fieldStart[f], fieldEnd[f]));
      this.acceptHeader(fields);
    } else {
      if (count !== this.headerLength) throw this.fieldCountError(count);
      if (this.blankLine !== 0) throw this.blankLineError();
      const slotOf = this.slotOf;
      for (let f = 0; f < count; f++) {
        const slot = slotOf[f];
        if (slot >= 0) {
          this.start[slot] = fieldStart[f];
          this.end[slot] = fieldEnd[f];
        }
      }
      this.sink.record(scratch, this.start, this.end, this.line);
    }
    this.line += 1 + innerLines;
    return next;
  }

  private acceptHeader(fields: string[]): void {
    const slotOf = this.sink.header(fields);
    if (slotOf.length !== fields.length) throw new RangeError('RecordSink.header must return one slot per header field');
    let slots = 0;
    for (let f = 0; f < slotOf.length; f++) if (slotOf[f] >= 0) slots = Math.max(slots, slotOf[f] + 1);
    this.slotOf = slotOf;
    this.headerLength = fields.length;
    this.start = new Int32Array(slots);
    this.end = new Int32Array(slots);
  }

  private blank(): void {
    if (this.blankLine === 0) this.blankLine = this.line;
    this.line++;
  }

  private fieldCountError(found: number): LinRfmError {
    return Errors.BadData(this.file, `line ${this.line}`, `expected ${this.headerLength} fields like the header, found ${found}`);
  }

  private blankLineError(): LinRfmError {
    return Errors.BadData(this.file, `line ${this.blankLine}`, 'blank line before the end of the data');
  }
}

/** Copies src[from..to) to dst at `at`; returns the new end in dst. */
function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): number {
  for (let k = from; k < to; k++) dst[at++] = src[k];
  return at;
}

function isBlank(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (b !== SPACE && b !== TAB && b !== CR) return false;
  }
  return true;
}
