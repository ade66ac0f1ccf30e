// Helpers of the command-line tests: the executable, run with the caller's LINRFM_* settings left out.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../bin/lin-rfm.mjs');

/** process.env without LINRFM_* (a developer's settings must not change what a test sees), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => !k.startsWith('LINRFM_') && v !== undefined)) as Record<string, string>;
  return { ...env, ...extra };
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lin-rfm ARGS` in `cwd` to the end. */
export function runCli(cwd: string, args: string[], env: Record<string, string> = cleanEnv(), stdin?: Buffer | string): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000, input: stdin ?? '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CSV with a header as rows of fields (no quoting: the tests' files have none). */
export function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
}
