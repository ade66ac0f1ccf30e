// Scheduled-job plumbing for `complete`: checkpoints every N sweeps, SIGTERM/SIGINT turned into a
// checkpoint and a clean exit, and resuming from the last checkpoint.

import { existsSync, rmSync } from 'node:fs';
import { readCheckpoint, writeCheckpoint } from '../io/checkpoint-file.ts';
import type { RunControl } from '../engine/state.ts';

export interface JobControl {
  control: RunControl;
  /** The signal that interrupted the run, if any. */
  signal(): 'SIGINT' | 'SIGTERM' | null;
  /** Sweeps the resumed state had finished (0 when starting afresh). */
  resumedAt: number;
  /** Removes the signal handlers; `finished` also deletes the checkpoint (the run's outputs supersede it). */
  dispose(finished: boolean): void;
}

/** Where the job's messages go (the command line's progress output fits it). */
export interface JobLog {
  info(message: string): void;
  event(name: string, fields: Record<string, unknown>): void;
}

export interface JobControlOptions {
  path: string;
  every: number;
  resume: boolean;
  progress: JobLog;
  /**
   * Treat the loss of the parent process as SIGTERM. Under `npx` the job runs below `npm exec` and a
   * `sh -c`; a SIGTERM to npx kills those two and never reaches the job, which would run on, orphaned,
   * and write its outputs after the scheduler believed it stopped.
   */
  watchParent?: boolean;
}

/** How often the parent is looked at (watchParent). */
const PARENT_POLL_MS = 250;

export function jobControl(o: JobControlOptions): JobControl {
  const { path, progress } = o;
  let caught: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (caught !== null) {
      // a second signal: the user insists, leave now (the last checkpoint on disk stays valid)
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    caught = sig;
    progress.info(`${sig}: stopping at the next safe point: after this sweep with a checkpoint, or while loading at the next batch (send it again to stop at once)`);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const parent = process.ppid;
  const watch = o.watchParent === true
    ? setInterval(() => {
      if (process.ppid === parent || caught !== null) return;
      progress.info(`the process that started this job (${parent}, npx) is gone: stopping as on SIGTERM`);
      caught = 'SIGTERM';
    }, PARENT_POLL_MS)
    : null;
  watch?.unref();

  const control: RunControl = {
    checkpointEvery: o.every,
    onCheckpoint: (state) => {
      writeCheckpoint(path, state);
      progress.event('checkpoint', { sweep: state.sweepsDone, file: path });
    },
    interrupted: () => caught !== null,
  };
  let resumedAt = 0;
  if (o.resume) {
    const state = readCheckpoint(o.path);
    if (state === null) {
      o.progress.info(`--resume: no checkpoint at ${o.path}, starting from the first sweep`);
    } else {
      control.resume = state;
      resumedAt = state.sweepsDone;
      o.progress.info(`resuming after sweep ${state.sweepsDone} from ${o.path}`);
    }
  }
  return {
    control,
    signal: () => caught,
    resumedAt,
    dispose(finished) {
      if (watch !== null) clearInterval(watch);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (finished && existsSync(path)) rmSync(path);
    },
  };
}
