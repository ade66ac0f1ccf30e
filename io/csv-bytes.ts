// A CSV file's bytes before its records are split: its field separator, whether its first bytes are
// text at all, a gzip file's decompressed stream, and a failed read in the project's words
// (io/csv-scanner.ts splits the records).

import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Errors, LinRfmError } from '../config/errors.ts';

const TAB = 9;
const COMMA = 44;

/** The field separator of a file: --delimiter when given (one character, or `tab`), else a tab for *.tsv and *.tsv.gz, else a comma. */
export function separatorOf(file: string, delimiter?: string): number {
  if (delimiter !== undefined) return delimiter === 'tab' || delimiter === '\\t' ? TAB : delimiter.charCodeAt(0);
  return /\.tsv(\.gz)?$/i.test(file) ? TAB : COMMA;
}

/**
 * No sane record is this long; hitting it means an unclosed quote or a file that is not line-based,
 * and stopping here beats buffering the rest of a multi-gigabyte file.
 */
export const MAX_RECORD_BYTES = 1 << 24;

export function inputError(file: string, err: unknown): LinRfmError {
  if (err instanceof LinRfmError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return Errors.MissingInput(file, 'no such file', { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return Errors.MissingInput(file, 'permission denied', { cause: err });
  if (code === 'EISDIR') return Errors.MissingInput(file, 'is a directory, expected a CSV file', { cause: err });
  const why = err instanceof Error ? err.message : String(err);
  return Errors.Io(file, `read failed: ${why}`, { cause: err });
}

/** What a file that is not CSV text is, from its first bytes (null: it may be text). */
export function notText(head: Buffer): string | null {
  const starts = (...bytes: number[]): boolean => bytes.every((b, k) => head[k] === b);
  if (starts(0x1f, 0x8b)) return 'a gzip-compressed file, not CSV text: decompress it first (gunzip -k)';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip archive, not CSV text: extract the CSV file from it first';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'a zstd-compressed file, not CSV text: decompress it first (zstd -d)';
  if (starts(0x42, 0x5a, 0x68)) return 'a bzip2-compressed file, not CSV text: decompress it first (bunzip2 -k)';
  if (starts(0x50, 0x41, 0x52, 0x31)) return 'a Parquet file, not CSV text: name it .parquet (or pass its directory) to read it as Parquet';
  const nul = head.indexOf(0);
  if (nul >= 0) return `binary data, not CSV text (a NUL byte at byte ${nul + 1})`;
  return null;
}

/** What scanGzip feeds: io/csv-scanner.ts's record splitter. */
export interface RecordFeeder {
  /** The line the next record starts on. */
  readonly line: number;
  /** Splits the records in buf; returns the bytes used (a partial last record stays for the next call). */
  feed(buf: Buffer, final: boolean): number;
  finish(): void;
}

/** scanCsvFile's loop over a gzip file's decompressed bytes (a gzip file holds about a quarter of its text). */
export async function scanGzip(file: string, scanner: RecordFeeder, readBytes: number, onLines?: (lines: number) => void): Promise<void> {
  let buf = Buffer.allocUnsafe(Math.max(1, readBytes));
  let length = 0;
  let first = true;
  const source = createReadStream(file);
  const gunzip = createGunzip();
  // a read error ends the decompression too (pipe alone would leave the loop waiting)
  source.on('error', (err) => gunzip.destroy(err));
  try {
    for await (const chunk of source.pipe(gunzip) as AsyncIterable<Buffer>) {
      if (first) {
        const what = notText(chunk.subarray(0, 4096));
        if (what !== null) throw Errors.BadData(file, '', `decompressed: ${what}`);
        first = false;
      }
      if (length + chunk.length > buf.length) {
        if (length + chunk.length > MAX_RECORD_BYTES + readBytes) {
          throw Errors.BadData(file, `line ${scanner.line}`, `record longer than ${MAX_RECORD_BYTES} bytes (unclosed quote, or not a CSV file?)`);
        }
        const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, length + chunk.length));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      chunk.copy(buf, length);
      length += chunk.length;
      const used = scanner.feed(buf.subarray(0, length), false);
      onLines?.(scanner.line - 1);
      buf.copy(buf, 0, used, length);
      length -= used;
    }
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  scanner.feed(buf.subarray(0, length), true);
  onLines?.(scanner.line - 1);
  scanner.finish();
}
