// `--input -`: the observed entries from standard input. A spilled load and the memory estimate
// read their input more than once and a Parquet reader seeks, so the stream is copied as it arrives
// into the job's work directory and read from there like a file: CSV (plain or gzip, as the CSV reader
// detects) or, when it begins with Parquet's magic bytes, one Parquet file.

import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Errors, LinRfmError } from '../config/errors.ts';
import { jobWorkDir } from './workdir.ts';

export const STDIN = '-';
const LABEL = 'standard input';

export interface SpooledInput {
  /** The copy to read, in its own job directory of the work directory. */
  path: string;
  bytes: number;
  /** SHA-256 of every byte read: the report's fingerprint of an input that has no file. */
  sha256: string;
  /** Errors naming the copy name standard input instead. */
  relabel(err: unknown): unknown;
  /** Removes the copy and its job directory. */
  close(): void;
}

/** Copies `stream` (standard input by default) into a job directory under `base`. */
export async function spoolInput(base: string, stream: Readable & { isTTY?: boolean } = process.stdin): Promise<SpooledInput> {
  if (stream.isTTY === true) throw Errors.Usage('--input -: standard input is a terminal; pipe the entries in (e.g. zcat ratings.csv.gz | lin-rfm complete --input - ...)');
  const work = jobWorkDir(base);
  const partial = join(work.dir, 'stdin.partial');
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  try {
    const fd = openSync(partial, 'w');
    try {
      for await (const chunk of stream) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        if (head.length < 4) head = Buffer.concat([head, b.subarray(0, 4 - head.length)]);
        hash.update(b);
        for (let at = 0; at < b.length; ) at += writeSync(fd, b, at, b.length - at);
        bytes += b.length;
      }
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    work.close();
    throw Errors.Io(LABEL, `cannot copy standard input to ${work.dir}: ${(err as Error).message}`, { cause: err });
  }
  if (bytes === 0) {
    work.close();
    throw Errors.BadData(LABEL, '', 'no data (the stream was empty)');
  }
  const path = join(work.dir, head.toString('latin1') === 'PAR1' ? 'stdin.parquet' : 'stdin.csv');
  renameSync(partial, path);
  return {
    path,
    bytes,
    sha256: hash.digest('hex'),
    relabel: (err) => (err instanceof LinRfmError && err.message.includes(path) ? new LinRfmError(err.code, err.message.replaceAll(path, LABEL), { cause: err }) : err),
    close: work.close,
  };
}

/**
 * Runs `body` on the input's path: the path itself, or for `-` a copy of standard input spooled into
 * `base` (removed afterwards, whatever happens), with errors that name standard input. `name` is
 * the input as a report names it: the absolute path, or `-`.
 */
export async function withInput<T>(input: string, base: string, body: (path: string, name: string, spooled: SpooledInput | undefined) => Promise<T>): Promise<T> {
  if (input !== STDIN) return body(input, resolve(input), undefined);
  const spooled = await spoolInput(base);
  try {
    return await body(spooled.path, STDIN, spooled);
  } catch (err) {
    throw spooled.relabel(err);
  } finally {
    spooled.close();
  }
}
