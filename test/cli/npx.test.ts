// Signals through `npx lin-rfm`, the invocation the README shows: npm runs the job below a `sh -c`,
// so a SIGTERM to npx alone never reaches it; the job watches for npx going away and stops as on
// SIGTERM (checkpoint, nothing else written). A Ctrl-C (SIGINT to the process group) reaches it.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-npx-'));
  expect(runCli(dir, ['generate', '--rows', '3000', '--cols', '300', '--rank', '5', '--observed', '90000', '--seed', '2', '--out', 'g.csv']).status).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `npx lin-rfm complete` (from the package, in its own process group) and resolves once it has checkpointed. */
function startThroughNpx(out: string): Promise<{ npx: ReturnType<typeof spawn>; job: number; stderr: () => string; exit: Promise<string> }> {
  const args = ['lin-rfm', 'complete', '--input', join(dir, 'g.csv'), '--output', out, '--tol', '0', '--max-sweeps', '5000', '--patience', '5000', '--workers', '1', '--checkpoint-every', '1'];
  const npx = spawn('npx', args, { cwd: ROOT, env: cleanEnv(), detached: true });
  let err = '';
  // as a shell reports it: 128 + the signal when npx itself died of one
  const exit = new Promise<string>((r) => npx.on('exit', (code, signal) => r(signal ?? String(code))));
  return new Promise((started, fail) => {
    npx.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /"pid":(\d+),"event":"checkpoint"/.exec(err);
      if (m !== null) started({ npx, job: Number(m[1]), stderr: () => err, exit });
    });
    npx.on('error', fail);
    void exit.then(() => fail(new Error(`npx ended before a checkpoint: ${err}`)));
  });
}

async function gone(pid: number): Promise<void> {
  for (let t = 0; t < 300 && alive(pid); t++) await new Promise((r) => setTimeout(r, 100));
  expect(alive(pid)).toBe(false);
}

describe('npx lin-rfm', () => {
  it('SIGTERM to npx: the job stops after its sweep with a checkpoint and nothing else', async () => {
    const out = join(dir, 'term');
    const run = await startThroughNpx(out);
    expect(run.job).not.toBe(run.npx.pid);
    process.kill(run.npx.pid!, 'SIGTERM');
    await run.exit;
    await gone(run.job);
    expect(run.stderr()).toMatch(/is gone: stopping as on SIGTERM/);
    expect(readdirSync(out)).toEqual(['checkpoint.lrfm']);
  });

  it('SIGINT to the process group (Ctrl-C): npx ends by SIGINT (130 in a shell), the job with a checkpoint and nothing else', async () => {
    const out = join(dir, 'int');
    const run = await startThroughNpx(out);
    process.kill(-run.npx.pid!, 'SIGINT');
    expect(['130', 'SIGINT']).toContain(await run.exit);
    await gone(run.job);
    expect(run.stderr()).toMatch(/SIGINT: stopped after sweep \d+, checkpoint written/);
    expect(readdirSync(out)).toEqual(['checkpoint.lrfm']);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });
});
