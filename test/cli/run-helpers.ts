// Helpers of the command-line tests: running `lin-rfm complete` until a checkpoint, then signalling it.

import { spawn } from 'node:child_process';

import { BIN } from './helpers.ts';

export { BIN };

export interface StoppedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The sweep of the checkpoint that triggered the signal (-1: none came). */
  seen: number;
}

/**
 * Starts `lin-rfm complete ARGS` in `cwd` (JSON log lines on stderr, which is not a terminal) and
 * sends `signal` once a checkpoint at or after sweep `at` is reported.
 */
export function completeUntilCheckpoint(cwd: string, args: string[], at: number, signal: NodeJS.Signals): Promise<StoppedRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, 'complete', ...args], { cwd });
    let stderr = '';
    let buf = '';
    let seen = -1;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (seen >= 0 || !line.startsWith('{')) continue;
        const ev = JSON.parse(line) as { event: string; sweep?: number };
        if (ev.event === 'checkpoint' && ev.sweep! >= at) {
          seen = ev.sweep!;
          child.kill(signal);
        }
      }
    });
    child.on('error', fail);
    child.on('exit', (code, sig) => done({ code, signal: sig, stderr, seen }));
  });
}
