// Scheduled-job behaviour of `lin-rfm complete` through the real executable: kill -9 at a random
// sweep then --resume gives the same files as an uninterrupted run; SIGTERM writes a checkpoint,
// exits 143 and leaves no outputs; a checkpoint from other data is refused.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { completeUntilCheckpoint, type StoppedRun } from './run-helpers.ts';
import { BIN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = 23;
const common = ['--input', 'train.csv', '--predict', 'truth.csv', '--seed', '3', '--max-sweeps', '70', '--tol', '0', '--patience', '1000', '--workers', '1', '--checkpoint-every', '4'];

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** complete with the common flags into `out`, stopped by `signal` once a checkpoint at or after sweep `at` is reported. */
const runUntilCheckpoint = (out: string, at: number, signal: NodeJS.Signals): Promise<StoppedRun> =>
  completeUntilCheckpoint(dir, [...common, '--output', out], at, signal);

const bytes = (p: string): Buffer => readFileSync(join(dir, p));

describe(`complete: checkpoints, signals, --resume (data seed ${SEED})`, () => {
  beforeAll(() => {
    const g = run('generate', '--rows', '500', '--cols', '300', '--rank', '3', '--observed', '15000', '--seed', String(SEED), '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '500');
    expect(g.code, g.stderr).toBe(0);
    const c = run('complete', ...common, '--output', 'whole');
    expect(c.code, c.stderr).toBe(0);
    // a finished run leaves no checkpoint behind
    expect(readdirSync(join(dir, 'whole')).sort()).toEqual(['model', 'predictions.csv', 'report.json']);
  }, 120_000);

  it('kill -9 at a random sweep, then --resume: the same predictions and kernel, byte for byte', async ({ annotate }) => {
    const at = 4 * (1 + new Rng(SEED).int(12));
    void annotate(`kill -9 at the first checkpoint at or after sweep ${at} (seed ${SEED})`);
    const killed = await runUntilCheckpoint('killed', at, 'SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.seen).toBeGreaterThanOrEqual(at);
    expect(existsSync(join(dir, 'killed', 'predictions.csv'))).toBe(false);
    expect(existsSync(join(dir, 'killed', 'checkpoint.lrfm'))).toBe(true);
    const r = run('complete', ...common, '--output', 'killed', '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming after sweep \d+/);
    expect(bytes('killed/predictions.csv').equals(bytes('whole/predictions.csv'))).toBe(true);
    expect(bytes('killed/model/kernel.arrow').equals(bytes('whole/model/kernel.arrow'))).toBe(true);
    const rep = JSON.parse(bytes('killed/report.json').toString()) as { resumedAfterSweep: number; sweeps: number; history: unknown[] };
    expect(rep.resumedAfterSweep).toBeGreaterThanOrEqual(at);
    expect(rep.history.length).toBe(rep.sweeps);
    expect(existsSync(join(dir, 'killed', 'checkpoint.lrfm'))).toBe(false);
  }, 120_000);

  it('SIGTERM: checkpoint, exit 143, a one-line message, no outputs; --resume finishes the same', async () => {
    const t = await runUntilCheckpoint('termed', 8, 'SIGTERM');
    expect(t.code).toBe(143);
    const last = t.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^lin-rfm: SIGTERM: stopped after sweep \d+, checkpoint written to .*checkpoint\.lrfm; run the same command with --resume/);
    expect(readdirSync(join(dir, 'termed'))).toEqual(['checkpoint.lrfm']);
    const r = run('complete', ...common, '--output', 'termed', '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(bytes('termed/predictions.csv').equals(bytes('whole/predictions.csv'))).toBe(true);
  }, 120_000);

  it('--resume with other engine options is a config error (exit 78) that names the checkpoint', async () => {
    const t = await runUntilCheckpoint('other', 4, 'SIGTERM');
    expect(t.code).toBe(143);
    const r = run('complete', ...common, '--output', 'other', '--resume', '--lambda', '0.1');
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^lin-rfm: config resume = ".*checkpoint\.lrfm": the checkpoint belongs to other input data or engine options/);
    expect(existsSync(join(dir, 'other', 'predictions.csv'))).toBe(false);
  }, 120_000);
});
