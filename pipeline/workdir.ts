// A job's own directory inside the work directory, so that jobs sharing a --work-dir (through a
// config file or LINRFM_WORK_DIR) never touch each other's files; a killed job's is removed by the
// next job that finds its process gone.

import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import { makeDirs } from '../io/dirs.ts';

const JOB_DIR = /^job-(\d+)-/;

export interface WorkDir {
  dir: string;
  /** Removes the job's directory, and the directories created for it if they are left empty. */
  close(): void;
}

const atExit = new Set<() => void>();
// a second signal exits at once (process.exit): the files go with the process
process.on('exit', () => {
  for (const f of atExit) f();
});

/** Runs `cleanup` if the process exits before the returned function is called (which unregisters it). */
export function onExit(cleanup: () => void): () => void {
  atExit.add(cleanup);
  return () => atExit.delete(cleanup);
}

/** mkdir -p, as an I/O error naming the directory; returns the first directory it created (undefined: it existed). */
export function makeDir(dir: string): string | undefined {
  try {
    return makeDirs(dir);
  } catch (err) {
    throw Errors.Io(dir, `cannot create the work directory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Removes dir and its parents up to `created` (makeDir's answer) while they are empty. */
export function removeMadeDirs(dir: string, created: string | undefined): void {
  for (let at = resolve(dir); created !== undefined; at = dirname(at)) {
    try {
      rmdirSync(at);
    } catch {
      break; // not empty: the user's files, the outputs, or another job's
    }
    if (at === resolve(created)) break;
  }
}

export function jobWorkDir(base: string): WorkDir {
  const created = makeDir(base);
  let dir: string;
  try {
    for (const f of readdirSync(base)) {
      const m = JOB_DIR.exec(f);
      if (m !== null && !alive(Number(m[1]))) rmSync(join(base, f), { recursive: true, force: true });
    }
    dir = mkdtempSync(join(base, `job-${process.pid}-`));
  } catch (err) {
    throw Errors.Io(base, `cannot use the work directory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const close = (): void => {
    forget();
    rmSync(dir, { recursive: true, force: true });
    removeMadeDirs(base, created);
  };
  const forget = onExit(close);
  return { dir, close };
}

/** Whether a process of this host with this PID exists (this one included). */
export function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A job directory at exactly `dir` (a scale-out run's, in the shared storage, named by its job ID),
 * made now and removed when the job ends. Unlike jobWorkDir's, no other directory there is touched:
 * other hosts' jobs share the storage.
 */
export function namedWorkDir(dir: string): WorkDir {
  try {
    mkdirSync(dir, { recursive: false });
  } catch (err) {
    throw Errors.Io(dir, `cannot make the job directory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const close = (): void => {
    forget();
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onExit(close);
  return { dir, close };
}
