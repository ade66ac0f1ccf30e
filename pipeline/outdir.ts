// A job's output folder: held by one job at a time (a lock file with its PID, host and start time),
// written into a staging directory inside it, and published at the end, so the folder holds the
// previous complete set of outputs until the new set replaces it, never a part of one.

import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Errors } from '../config/errors.ts';
import { alive, onExit } from './workdir.ts';
import { makeDirs } from '../io/dirs.ts';

export const LOCK_FILE = '.lin-rfm.lock';
const STAGING = /^\.staging-(\d+)-/;
// the temporary files of atomic writes (io/atomic.ts) and of a spilled run's parts
const TEMP = /^\.?(?:[^/]*\.)?tmp-(\d+)(?:-|$)/;

/** Every name `complete` may publish: what a new set does not have of these goes with the old set. */
export const OUTPUT_NAMES: readonly string[] = [
  'predictions.csv', 'predictions.parquet', 'topk.csv', 'topk.parquet', 'full.csv', 'full', 'model', 'tune.csv', 'tuned.json', 'report.json',
];

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

export interface OutputFolder {
  dir: string;
  /** Where this run writes its outputs; `publish` moves them into `dir`. */
  staging: string;
  /** Where a path inside `staging` will be once published. */
  final(staged: string): string;
  /** Moves the staged outputs into the folder (report.json last) and removes the old set's others. */
  publish(): void;
  /** Removes the staging directory and the lock (and the folder, when this job made it and left it empty). */
  close(): void;
}

/**
 * Takes the output folder for this process: creates it if need be, locks it (a lock of a process on
 * this host that is gone is broken, with a message; a live one refuses the job, exit 75), removes
 * what dead jobs left (staging directories, temporary files), and makes this run's staging directory,
 * which also proves the folder writable before any work starts.
 */
export function openOutputFolder(
  dir: string, command: string, info: (message: string) => void, outputNames: readonly string[] = OUTPUT_NAMES,
): OutputFolder {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw Errors.Io(dir, 'output exists and is not a directory');
  let created: string | undefined;
  try {
    created = makeDirs(dir);
  } catch (err) {
    throw Errors.Io(dir, `cannot create the output folder: ${(err as Error).message}`, { cause: err });
  }
  const lock = join(dir, LOCK_FILE);
  takeLock(lock, { pid: process.pid, host: hostname(), started: new Date().toISOString(), command }, info);
  let staging = '';
  const close = (): void => {
    forget();
    if (staging !== '') rmSync(staging, { recursive: true, force: true });
    rmSync(lock, { force: true });
    if (created !== undefined) {
      try {
        rmdirSync(dir);
      } catch {
        // it holds outputs now, or the user's files
      }
    }
  };
  const forget = onExit(close);
  try {
    for (const f of readdirSync(dir)) {
      const m = STAGING.exec(f) ?? TEMP.exec(f);
      if (m !== null && !alive(Number(m[1]))) rmSync(join(dir, f), { recursive: true, force: true });
    }
    staging = mkdtempSync(join(dir, `.staging-${process.pid}-`));
  } catch (err) {
    close();
    throw Errors.Io(dir, `the output folder is not writable: ${(err as Error).message}`, { cause: err });
  }
  return {
    dir,
    staging,
    final: (staged) => join(dir, relative(staging, staged)),
    publish: () => publish(staging, dir, outputNames),
    close,
  };
}

function takeLock(path: string, me: LockInfo, info: (message: string) => void): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw Errors.Io(dirname(path), `cannot lock the output folder: ${(err as Error).message}`, { cause: err });
      }
      const held = readLock(path);
      if (held !== null && held.host === me.host && !alive(held.pid)) {
        info(`removed the stale lock of process ${held.pid} (started ${held.started}), which is gone`);
        rmSync(path, { force: true });
        continue;
      }
      const who = held === null ? 'an unreadable lock' : `process ${held.pid} on ${held.host} since ${held.started} (${held.command})`;
      throw Errors.Locked(dirname(path), `another job is using this output folder: ${who}; wait for it, or remove ${path} if that job is gone`);
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    return;
  }
  throw Errors.Locked(dirname(path), `cannot take the lock ${path}: another job took it first`);
}

function readLock(path: string): LockInfo | null {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof j.pid === 'number' && typeof j.host === 'string' ? { pid: j.pid, host: j.host, started: String(j.started), command: String(j.command) } : null;
  } catch {
    return null;
  }
}

/** Renames the staged outputs into place (directories through a swap), report.json last. */
function publish(staging: string, dir: string, outputNames: readonly string[]): void {
  const names = readdirSync(staging).filter((f) => !f.startsWith('.')).sort((a, b) => Number(a === 'report.json') - Number(b === 'report.json'));
  const old = join(staging, '.old');
  mkdirSync(old);
  try {
    for (const name of names) {
      const from = join(staging, name);
      const to = join(dir, name);
      // a directory, or anything where a directory goes, cannot be renamed over: it moves aside first
      if (existsSync(to) && (statSync(to).isDirectory() || statSync(from).isDirectory())) renameSync(to, join(old, name));
      renameSync(from, to);
    }
    for (const name of outputNames) {
      if (!names.includes(name) && existsSync(join(dir, name))) renameSync(join(dir, name), join(old, name));
    }
  } catch (err) {
    throw Errors.Io(dir, `cannot publish the outputs: ${(err as Error).message}`, { cause: err });
  }
}
