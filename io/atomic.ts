// Replaces a file all-or-nothing: write a sibling temp file, fsync it, rename it over the target.

import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Errors, LinRfmError } from '../config/errors.ts';

/**
 * The temp file sits in the target's directory because rename(2) is only atomic within one
 * filesystem; pid + random suffix keeps concurrent writers from opening each other's temp files.
 */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Creates a temp file beside `path`, lets `write` fill it through the handle, fsyncs, closes and
 * renames it over `path`. On any failure the temp file is removed and the old `path` is untouched.
 * LinRfmErrors pass through unchanged (their code is more specific); anything else becomes Errors.Io.
 */
export async function replaceFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    // Opened and awaited before `write` runs, so no cleanup can race a pending open.
    const fh = await open(tmp, 'wx');
    try {
      await write(fh);
      // Without fsync before rename a crash can leave the new name pointing at an empty file.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // The open may have failed, so a failed unlink is expected and not news.
    await unlink(tmp).catch(() => undefined);
    throw asIoError(path, err);
  }
  await syncDirectory(dirname(path));
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await replaceFileAtomic(path, (fh) => fh.writeFile(data));
}

/** Writes all of `text`: a single write(2) may legally stop short. */
export async function writeAll(fh: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

export function asIoError(path: string, err: unknown): LinRfmError {
  if (err instanceof LinRfmError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return Errors.Io(path, `write failed: ${why}`, { cause: err });
}

/** Makes the rename itself durable; best effort because some platforms cannot open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // The data is already safe in the renamed file; only crash-durability of the name is at stake.
  }
}

/**
 * writeFileAtomic for synchronous callers (the engine between sweeps): temp file, fsync, rename.
 * A failure removes the temp file, leaves `path` as it was, and becomes Errors.Io naming `what`.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array, what: string): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw Errors.Io(path, `${what} write failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
