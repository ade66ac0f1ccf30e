// One job per output folder, and the outputs all or nothing: a second job is refused while the first
// runs, a dead job's lock and staging are cleaned up, and a job killed at any moment leaves the
// previous complete set of outputs, never a part of the new one.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from './helpers.ts';
import { snapshot } from './snapshot.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-outdir-'));
  const r = runCli(dir, ['generate', '--rows', '3000', '--cols', '300', '--rank', '5', '--observed', '90000', '--seed', '2',
    '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '2000']);
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the output folder', () => {
  it('a second job on the same folder is refused (75) while the first runs; the first ends normally', async () => {
    const slow = ['complete', '--input', 'g.csv', '--output', 'busy', '--tol', '0', '--max-sweeps', '60', '--workers', '1', '--quiet'];
    const first = spawn(process.execPath, [BIN, ...slow], { cwd: dir, env: cleanEnv() });
    const done = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    // wait for its lock
    for (let t = 0; t < 200 && !existsSync(join(dir, 'busy', '.lin-rfm.lock')); t++) await new Promise((r) => setTimeout(r, 25));
    const second = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'busy', '--quiet']);
    expect(second.status).toBe(75);
    expect(second.stderr).toMatch(new RegExp(`busy: another job is using this output folder: process ${first.pid} on ${hostname()}`));
    expect(await done).toBe(0);
    expect(existsSync(join(dir, 'busy', 'report.json'))).toBe(true);
    expect(existsSync(join(dir, 'busy', '.lin-rfm.lock'))).toBe(false);
  });

  it("a dead job's lock is broken with a message; another host's is not", () => {
    const out = join(dir, 'stale');
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    return new Promise<void>((resolve) => dead.on('exit', () => {
      runCli(dir, ['complete', '--input', 'g.csv', '--output', 'stale', '--max-sweeps', '2', '--quiet']);
      writeFileSync(join(out, '.lin-rfm.lock'), JSON.stringify({ pid, host: hostname(), started: '2026-01-01T00:00:00Z', command: 'x' }));
      const r = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'stale', '--max-sweeps', '2']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`removed the stale lock of process ${pid}`);
      writeFileSync(join(out, '.lin-rfm.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', started: '2026-01-01T00:00:00Z', command: 'x' }));
      const other = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'stale', '--max-sweeps', '2', '--quiet']);
      expect(other.status).toBe(75);
      expect(other.stderr).toMatch(/process 1 on elsewhere/);
      rmSync(join(out, '.lin-rfm.lock'));
      resolve();
    }));
  });

  it('a new set replaces the old one whole: outputs the new run does not write are gone', () => {
    const a = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'sets', '--predict', 't.csv', '--top-k', '3', '--max-sweeps', '3', '--quiet']);
    expect(a.status, a.stderr).toBe(0);
    expect([...snapshot(join(dir, 'sets')).keys()].sort()).toContain('topk.csv');
    const b = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'sets', '--max-sweeps', '3', '--quiet']);
    expect(b.status, b.stderr).toBe(0);
    const after = [...snapshot(join(dir, 'sets')).keys()].sort();
    expect(after).toEqual(['model/kernel.arrow', 'model/keys.arrow', 'model/model.json', 'report.json']);
  });

  it('killed (-9) at any moment, the folder holds the old set or the new one, whole; the next job cleans up', async ({ annotate }) => {
    const out = join(dir, 'killed');
    const base = ['complete', '--input', 'g.csv', '--output', 'killed', '--predict', 't.csv', '--quiet'];
    expect(runCli(dir, [...base, '--top-k', '2', '--max-sweeps', '4']).status).toBe(0);
    const old = snapshot(out);
    const outcomes: string[] = [];
    for (const ms of [300, 700, 1100, 1500, 1900, 2300, 2700]) {
      const child = spawn(process.execPath, [BIN, ...base, '--full', '--max-sweeps', '6', '--seed', '5'], { cwd: dir, env: cleanEnv() });
      const exited = new Promise((r) => child.on('exit', r));
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGKILL');
      await exited;
      const now = snapshot(out);
      const same = [...old].every(([k, v]) => now.get(k) === v) && now.size === old.size;
      if (!same) {
        // the new set, whole: every output its report lists exists, and nothing of the old set stayed
        const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { outputs: Record<string, string> };
        for (const p of Object.values(report.outputs)) expect(existsSync(p), p).toBe(true);
        expect(now.has('topk.csv')).toBe(false);
        expect(now.has('full.csv')).toBe(true);
      }
      outcomes.push(`${ms} ms: ${same ? 'old set' : 'new set'}`);
      if (!same) break;
    }
    void annotate(outcomes.join(', '));
    const next = runCli(dir, [...base, '--max-sweeps', '2']);
    expect(next.status, next.stderr).toBe(0);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
