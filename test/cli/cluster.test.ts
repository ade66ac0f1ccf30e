// complete --cluster with `lin-rfm worker` processes on a Redis of the test's own: the local spilled
// run's bytes (predictions, kernel) with 3 workers, with the dense and the low-rank kernel (and
// predict's fold-in), also
// when one is killed with kill -9 while it holds a task, and over TLS; a wrong password, an
// untrusted certificate and an unreachable Redis end with their exit codes and no outputs.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from './helpers.ts';
import { freePort, startRedis, type TestRedis } from '../../bench/redis.ts';

const SEED = 41;
const dir = mkdtempSync(join(tmpdir(), 'linrfm-cli-cluster-'));
const store = join(dir, 'store');
mkdirSync(store);
const PASSWORD = 'test-secret-7d3';
let redis: TestRedis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  const g = runCli(dir, ['generate', '--rows', '1500', '--cols', '200', '--rank', '3', '--observed', '30000', '--seed', String(SEED), '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '500']);
  expect(g.status, g.stderr).toBe(0);
}, 30_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): Record<string, string> => cleanEnv({ LINRFM_CLUSTER_PASSWORD: PASSWORD, ...extra });
const common = ['--input', 'train.csv', '--predict', 'truth.csv', '--spill-chunk', '4000', '--max-sweeps', '12', '--tol', '0', '--quiet'];

interface Worker {
  child: ChildProcess;
  log: () => string;
}

function startWorker(extra: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, [BIN, 'worker', '--cluster', redis.url, '--cluster-storage', store, '--lock-seconds', '2'], { cwd: dir, env: env(extra), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
  });
  children.push(child);
  return { child, log: () => log };
}

async function ready(w: Worker): Promise<void> {
  for (let t = 0; t < 300 && !w.log().includes('"event":"ready"'); t++) await new Promise((r) => setTimeout(r, 50));
  expect(w.log()).toContain('"event":"ready"');
}

function coordinate(out: string, extra: string[] = []): Promise<{ status: number | null; stderr: string }> {
  return spawnCli(['complete', ...common, ...extra, '--output', out, '--cluster', redis.url, '--cluster-storage', store]);
}

/** A command run without blocking this process (the workers' logs keep flowing). */
function spawnCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

async function stop(w: Worker): Promise<number | null> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.child.exitCode;
  const gone = new Promise<number | null>((r) => w.child.once('exit', (code) => r(code)));
  w.child.kill('SIGTERM');
  return gone;
}

const bytes = (path: string): Buffer => readFileSync(join(dir, path));

describe(`complete --cluster (seed ${SEED}, 1,500 x 200, 30,000 observed, chunks of 4,000 entries)`, () => {
  it('with 3 worker processes gives the local run\'s predictions and kernel, then again with one killed (kill -9) holding a task', async () => {
    const local = runCli(dir, ['complete', ...common, '--output', 'local', '--spill', 'always', '--agop', 'factored'], env());
    expect(local.status, local.stderr).toBe(0);

    const workers = [startWorker(), startWorker(), startWorker()];
    await Promise.all(workers.map(ready));
    const run = await coordinate('cluster');
    expect(run.status, run.stderr).toBe(0);
    expect(bytes('cluster/predictions.csv').equals(bytes('local/predictions.csv'))).toBe(true);
    expect(bytes('cluster/model/kernel.arrow').equals(bytes('local/model/kernel.arrow'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'cluster/report.json'), 'utf8'));
    // 12 sweeps, then the final ridge search's passes under one more sweep number
    expect(report.ridgeSearch.tried.length).toBeGreaterThanOrEqual(3);
    expect(report.cluster.sweeps.length).toBe(12 + 1);
    expect(report.cluster.sweeps[0].tasks).toBeGreaterThanOrEqual(5);
    // the three workers all took tasks
    for (const w of workers) expect(w.log()).toContain('"event":"task"');
    // its job directory is gone from the shared storage
    expect(readdirSync(store)).toEqual([]);

    // the low-rank kernel too: the local spilled run's predictions and model files
    const lr = ['--kernel', 'low-rank', '--kernel-rank', '3'];
    const localLr = runCli(dir, ['complete', ...common, ...lr, '--output', 'local-lr', '--spill', 'always'], env());
    expect(localLr.status, localLr.stderr).toBe(0);
    const runLr = await coordinate('cluster-lr', lr);
    expect(runLr.status, runLr.stderr).toBe(0);
    expect(bytes('cluster-lr/predictions.csv').equals(bytes('local-lr/predictions.csv'))).toBe(true);
    const modelFiles = readdirSync(join(dir, 'local-lr/model'));
    expect(modelFiles.length).toBeGreaterThanOrEqual(1);
    for (const f of modelFiles) expect(bytes(`cluster-lr/model/${f}`).equals(bytes(`local-lr/model/${f}`)), f).toBe(true);
    const lrReport = JSON.parse(readFileSync(join(dir, 'cluster-lr/report.json'), 'utf8'));
    expect(lrReport.kernel.form).toBe('low-rank');
    expect(lrReport.cluster.sweeps[0].passes).toBeGreaterThan(1);

    // predict --cluster: the fold-in of every row (pairs and top-k lists) gives a local predict's bytes, either kernel
    for (const m of ['local', 'local-lr']) {
      const args = ['predict', '--model', `${m}/model`, '--input', 'train.csv', '--predict', 'truth.csv', '--top-k', '5', '--spill-chunk', '5000', '--quiet'];
      const here = runCli(dir, [...args, '--output', `p-${m}`], env());
      expect(here.status, here.stderr).toBe(0);
      const there = await spawnCli([...args, '--output', `pc-${m}`, '--cluster', redis.url, '--cluster-storage', store]);
      expect(there.status, there.stderr).toBe(0);
      for (const f of ['predictions.csv', 'topk.csv']) expect(bytes(`pc-${m}/${f}`).equals(bytes(`p-${m}/${f}`)), `${m} ${f}`).toBe(true);
      const pr = JSON.parse(readFileSync(join(dir, `pc-${m}/report.json`), 'utf8'));
      expect(pr.cluster.sweeps[0].tasks).toBeGreaterThanOrEqual(5);
    }
    expect(readdirSync(store)).toEqual([]);

    // a fourth worker holds every task it takes: killed with kill -9 while holding one, its task goes to the others
    const victim = startWorker({ LINRFM_WORKER_HOLD_MS: '600000' });
    await ready(victim);
    const second = coordinate('killed');
    for (let t = 0; t < 600 && !victim.log().includes('"event":"task-start"'); t++) await new Promise((r) => setTimeout(r, 50));
    expect(victim.log()).toContain('"event":"task-start"');
    victim.child.kill('SIGKILL');
    const killed = await second;
    expect(killed.status, killed.stderr).toBe(0);
    expect(bytes('killed/predictions.csv').equals(bytes('local/predictions.csv'))).toBe(true);
    expect(bytes('killed/model/kernel.arrow').equals(bytes('local/model/kernel.arrow'))).toBe(true);
    const kr = JSON.parse(readFileSync(join(dir, 'killed/report.json'), 'utf8'));
    const retried = kr.cluster.sweeps.reduce((s: number, x: { retried: number }) => s + x.retried, 0);
    expect(retried).toBeGreaterThanOrEqual(1);

    // cluster status lists the three workers still connected, and no job left running
    const st = runCli(dir, ['cluster', 'status', '--cluster', redis.url, '--json'], env());
    expect(st.status, st.stderr).toBe(0);
    const status = JSON.parse(st.stdout) as { workers: Array<{ name: string }>; jobs: unknown[] };
    expect(status.workers.length).toBe(3);
    for (const w of status.workers) expect(w.name).toMatch(/:\d+$/);
    expect(status.jobs).toEqual([]);
    expect(st.stdout).not.toContain(PASSWORD);

    // SIGTERM: a worker finishes and exits 0
    for (const w of workers) expect(await stop(w)).toBe(0);
  }, 240_000);

  it('a wrong password ends with exit 77 and one line, for the coordinator and a worker, writing nothing; the password is in no output', () => {
    const bad = cleanEnv({ LINRFM_CLUSTER_PASSWORD: 'wrong' });
    const r = runCli(dir, ['complete', ...common, '--output', 'badpass', '--cluster', redis.url, '--cluster-storage', store], bad);
    expect(r.status).toBe(77);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/authentication failed/);
    expect(existsSync(join(dir, 'badpass/report.json'))).toBe(false);
    const w = runCli(dir, ['worker', '--cluster', redis.url, '--cluster-storage', store], bad);
    expect(w.status).toBe(77);
    expect(w.stderr).toMatch(/authentication failed/);
    // a password given in the URL is shown as ***
    const u = runCli(dir, ['complete', ...common, '--output', 'badpass', '--cluster', `redis://:hunter2@127.0.0.1:${redis.port}`, '--cluster-storage', store], cleanEnv());
    expect(u.status).toBe(77);
    expect(u.stderr).not.toContain('hunter2');
    // nor when the URL is refused as malformed, from a flag or the environment
    const m = runCli(dir, ['complete', ...common, '--output', 'badpass', '--cluster', 'http://:hunter3@127.0.0.1:1', '--cluster-storage', store], cleanEnv());
    expect(m.status).toBe(64);
    expect(m.stderr).not.toContain('hunter3');
    const e = runCli(dir, ['complete', ...common, '--output', 'badpass', '--cluster-storage', store], cleanEnv({ LINRFM_CLUSTER: 'http://:hunter4@127.0.0.1:1' }));
    expect(e.status).toBe(78);
    expect(e.stderr).not.toContain('hunter4');
  }, 60_000);

  it('Redis killed mid-run: exit 69 after --cluster-wait, a checkpoint and no outputs; Redis back, --resume ends with the local bytes', async () => {
    // a Redis of this test's own, without a password
    const own = await startRedis();
    let back: TestRedis | null = null;
    const ws: Worker[] = [];
    try {
      const start = (url: string): Worker => {
        const child = spawn(process.execPath, [BIN, 'worker', '--cluster', url, '--cluster-storage', store, '--lock-seconds', '2'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        child.stderr!.on('data', (b: Buffer) => {
          log += b.toString();
        });
        children.push(child);
        return { child, log: () => log };
      };
      ws.push(start(own.url), start(own.url));
      await Promise.all(ws.map(ready));
      const args = ['complete', ...common.filter((a) => a !== '--quiet'), '--output', 'restart', '--cluster', own.url, '--cluster-storage', store, '--cluster-wait', '3', '--checkpoint-every', '1'];
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      for (let t = 0; t < 600 && !/"event":"sweep"[^\n]*"sweep":3\b/.test(stderr); t++) await new Promise((r) => setTimeout(r, 25));
      await own.stop();
      expect(await exited).toBe(69);
      expect(stderr).toMatch(/Redis unreachable/);
      expect(existsSync(join(dir, 'restart/checkpoint.lrfm'))).toBe(true);
      expect(existsSync(join(dir, 'restart/report.json'))).toBe(false);
      // Redis back on the same port: the workers reconnect by themselves, and the job resumes
      back = await startRedis({ port: own.port });
      const resumed = runCli(dir, [...args, '--resume', '--quiet'], cleanEnv());
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(bytes('restart/predictions.csv').equals(bytes('local/predictions.csv'))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'restart/report.json'), 'utf8')).resumedAfterSweep).toBeGreaterThanOrEqual(1);
    } finally {
      for (const w of ws) await stop(w);
      await back?.stop();
    }
  }, 120_000);

  it('rediss:// (TLS): with the server\'s certificate trusted (NODE_EXTRA_CA_CERTS) the local bytes; not trusted, exit 77 at once', async () => {
    // a self-signed certificate for 127.0.0.1, its own authority
    const cert = join(dir, 'tls-cert.pem');
    const key = join(dir, 'tls-key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = await startRedis({ tls: { cert, key } });
    const trusted = cleanEnv({ NODE_EXTRA_CA_CERTS: cert });
    expect(tls.url).toMatch(/^rediss:/);
    const w = spawn(process.execPath, [BIN, 'worker', '--cluster', tls.url, '--cluster-storage', store], { cwd: dir, env: trusted, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(w);
    let log = '';
    w.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
    });
    try {
      await ready({ child: w, log: () => log });
      const r = runCli(dir, ['complete', ...common, '--output', 'tls', '--cluster', tls.url, '--cluster-storage', store], trusted);
      expect(r.status, r.stderr).toBe(0);
      expect(bytes('tls/predictions.csv').equals(bytes('local/predictions.csv'))).toBe(true);
      // not trusted: a clear message and exit 77 before the input is read, not a wait for an unreachable server
      const t0 = Date.now();
      const bad = runCli(dir, ['complete', ...common, '--output', 'tls-bad', '--cluster', tls.url, '--cluster-storage', store, '--cluster-wait', '30'], cleanEnv());
      expect(bad.status).toBe(77);
      expect(bad.stderr).toMatch(/TLS failed: .*certificate.*NODE_EXTRA_CA_CERTS/);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(existsSync(join(dir, 'tls-bad/report.json'))).toBe(false);
    } finally {
      await stop({ child: w, log: () => log });
      await tls.stop();
    }
  }, 90_000);

  it('an unreachable Redis ends with exit 69 after --cluster-wait, writing nothing', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = runCli(dir, ['complete', ...common, '--output', 'down', '--cluster', `redis://127.0.0.1:${port}`, '--cluster-storage', store, '--cluster-wait', '2'], env());
    expect(r.status).toBe(69);
    expect(r.stderr).toMatch(/Redis unreachable/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(existsSync(join(dir, 'down/report.json'))).toBe(false);
  }, 60_000);
});
