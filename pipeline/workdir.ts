// A job's own directory inside the work directory, so that jobs sharing a --work-dir (through a
// config file or LINRFM_WORK_DIR) never touch each other's files; a killed job's is removed by the
// next job that finds its process gone.

import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';

const JOB_DIR = /^job-(\d+)-/;

export interface WorkDir {
  dir: string;
  /** Removes the job's directory, and the directories created for it if they are left empty. */
  close(): void;
}

const open = new Set<() => void>();
// a second signal exits at once (process.exit): the files go with the process
process.on('exit', () => {
  for (const close of open) close();
});

export function jobWorkDir(base: string): WorkDir {
  let created: string | undefined;
  let dir: string;
  try {
    created = mkdirSync(base, { recursive: true });
    for (const f of readdirSync(base)) {
      const m = JOB_DIR.exec(f);
      if (m !== null && !alive(Number(m[1]))) rmSync(join(base, f), { recursive: true, force: true });
    }
    dir = mkdtempSync(join(base, `job-${process.pid}-`));
  } catch (err) {
    throw Errors.Io(base, `cannot use the work directory: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const close = (): void => {
    open.delete(close);
    rmSync(dir, { recursive: true, force: true });
    for (let at = resolve(base); created !== undefined; at = dirname(at)) {
      try {
        rmdirSync(at);
      } catch {
        break; // not empty: the user's files, the outputs, or another job's
      }
      if (at === resolve(created)) break;
    }
  };
  open.add(close);
  return { dir, close };
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
