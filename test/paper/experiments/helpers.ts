// Helpers of the experiment tests: output directories, the checks of a direct run's progress and
// files, `lin-rfm experiment` through the compiled executable, and the checks every `--smoke` run shares.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { ExperimentOptions, ExperimentOutput } from '../../../paper/experiments/types.ts';
import { runCli } from '../../cli/helpers.ts';

/**
 * Call at the top of a test file: returns a maker of fresh output directories, all removed after the
 * file's tests, so that a failing test leaves none behind either.
 */
export function tempDirs(): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return async (prefix) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** A progress callback for a direct run: it fails on any event but 'cell' and keeps the fields of each. */
export function cellLog(): { events: Record<string, unknown>[]; log: ExperimentOptions['log'] } {
  const events: Record<string, unknown>[] = [];
  return {
    events,
    log: (event, fields) => {
      expect(event).toBe('cell');
      events.push(fields);
    },
  };
}

/**
 * That a direct run reports exactly these files of dir, in this order, and that dir holds nothing
 * else: the atomic writes leave no temporary files behind.
 */
export async function expectWritten(out: ExperimentOutput, dir: string, csv: string | string[], svg: string[]): Promise<void> {
  const csvs = typeof csv === 'string' ? [csv] : csv;
  expect(out.csv).toEqual(csvs.map((f) => join(dir, f)));
  expect(out.svg).toEqual(svg.map((f) => join(dir, f)));
  expect((await readdir(dir)).sort()).toEqual([...csvs, ...svg].sort());
}

/** `lin-rfm experiment ARGS`; LINRFM_* settings of the caller's environment left out, so that they cannot change the run. */
export function experiment(...args: string[]): { code: number | null; stderr: string } {
  const r = runCli(process.cwd(), ['experiment', ...args]);
  return { code: r.status, stderr: r.stderr };
}

export interface SmokeRun {
  /** The first line of NAME.csv. */
  header: string;
  /** The other lines of NAME.csv, split at commas. */
  rows: string[][];
}

/**
 * `lin-rfm experiment NAME --smoke` into a fresh directory, removed again before this returns.
 * Checks that it exits 0, that report.json names the command, the experiment and the smoke grid,
 * and that it lists exactly `svgFiles` (in that order), each written and an SVG.
 */
export function runSmoke(name: string, svgFiles: string[]): SmokeRun {
  const dir = mkdtempSync(join(tmpdir(), `${name}-smoke-`));
  try {
    const r = experiment(name, '--smoke', '--output', dir, '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { outputs: { svg: string[] } };
    expect(report).toMatchObject({ command: 'experiment', experiment: name, grid: 'smoke' });
    expect(report.outputs.svg).toEqual(svgFiles.map((f) => join(dir, f)));
    for (const path of report.outputs.svg) {
      expect(existsSync(path), path).toBe(true);
      expect(readFileSync(path, 'utf8').startsWith('<svg'), path).toBe(true);
    }
    const [header, ...lines] = readFileSync(join(dir, `${name}.csv`), 'utf8').trimEnd().split('\n');
    return { header: header!, rows: lines.map((l) => l.split(',')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
