// Scale-out from the command line: `complete --cluster URL` (and `predict --cluster URL`) opens the coordinator's side
// (pipeline/cluster/coordinator.ts) before the load, and `lin-rfm worker --cluster URL` runs the
// worker role until SIGTERM or SIGINT (the task in hand finished first, then exit 0).

import { Errors } from '../config/errors.ts';
import type { ClusterSettings } from '../config/settings.ts';
import { parseBytes } from '../config/units.ts';
import { clusterTarget } from '../pipeline/cluster/connection.ts';
import { ClusterCoordinator } from '../pipeline/cluster/coordinator.ts';
import { codeIdentity } from '../pipeline/cluster/protocol.ts';
import { startWorker } from '../pipeline/cluster/worker.ts';
import { clusterStatus } from '../pipeline/cluster/status.ts';
import { openStorage } from '../pipeline/cluster/storage.ts';
import type { Progress } from './progress.ts';
import { VERSION } from './report.ts';

/** Attempts of a task in all: a worker's failures, stalls and results refused here. */
const ATTEMPTS = 5;

export interface OpenCluster {
  coord: ClusterCoordinator;
  /** The job's directory in the shared storage (the spilled load and its chunks). */
  jobDir: string;
  /** report.json's `cluster`: where, which job, and per sweep what the cluster did. */
  summary(): Record<string, unknown>;
}

export async function openCluster(s: ClusterSettings & { tune?: string | undefined }, progress: Progress): Promise<OpenCluster | undefined> {
  if (s.cluster === undefined) return undefined;
  if (s.clusterStorage === undefined) throw Errors.Usage('--cluster: a run on the cluster needs --cluster-storage DIR, a directory every worker reads');
  const storage = openStorage(s.clusterStorage);
  if (s.tune !== undefined) throw Errors.Usage('--tune and --cluster do not go together: a tuned job runs in memory');
  const target = clusterTarget(s.cluster, { user: s.clusterUser, password: s.clusterPassword });
  const log = (event: string, fields: Record<string, unknown>): void => {
    progress.event(`cluster-${event}`, fields);
    if (event === 'waiting' || event === 'task-refused') progress.warn(`cluster: ${String(fields['why'])}`);
  };
  const coord = await ClusterCoordinator.open({ target, prefix: s.clusterPrefix, storage, code: codeIdentity(VERSION), waitMs: s.clusterWait * 1000, attempts: ATTEMPTS, log });
  progress.info(`cluster ${target.shown}: job ${coord.job}, chunks in ${storage.jobDir(coord.job)}`);
  return {
    coord,
    jobDir: storage.jobDir(coord.job),
    summary: () => ({ url: target.shown, prefix: s.clusterPrefix, job: coord.job, sweeps: coord.history }),
  };
}

export interface WorkerFlags {
  cluster: string;
  clusterStorage: string;
  clusterPrefix?: string;
  clusterUser?: string;
  threads?: number;
  cacheMemory?: string;
  lockSeconds?: number;
  clusterWait?: number;
  quiet?: boolean;
}

/** `lin-rfm worker`: takes tasks until SIGTERM or SIGINT, then finishes the one in hand and exits 0. */
export async function cmdWorker(f: WorkerFlags): Promise<void> {
  const storage = openStorage(f.clusterStorage);
  const target = envTarget(f.cluster, f.clusterUser);
  const cacheBytes = f.cacheMemory === undefined ? 2e9 : parseBytes(f.cacheMemory);
  if (!(cacheBytes > 0)) throw Errors.Usage(`--cache-memory: expected a size such as 2G, got "${f.cacheMemory}"`);
  const line = (event: string, fields: Record<string, unknown>): void => {
    // one JSON line per event on stderr: a worker runs unattended
    if (f.quiet !== true || (event !== 'task' && event !== 'task-start')) process.stderr.write(JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n');
  };
  const worker = await startWorker({
    target, prefix: f.clusterPrefix ?? 'lin-rfm', storage, code: codeIdentity(VERSION), threads: f.threads ?? 1,
    cacheBytes, lockMs: (f.lockSeconds ?? 30) * 1000, waitMs: (f.clusterWait ?? 60) * 1000, log: line, holdMs: holdMs(),
  });
  line('ready', { worker: worker.id, cluster: target.shown, prefix: f.clusterPrefix ?? 'lin-rfm', storage: storage.shown, version: VERSION });
  const stop = (signal: string): void => {
    line('stopping', { signal, tasks: worker.tasks() });
    worker.close().catch((err: unknown) => line('error', { error: err instanceof Error ? err.message : String(err) }));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await worker.closed;
  line('stopped', { worker: worker.id, tasks: worker.tasks() });
}

/** LINRFM_WORKER_HOLD_MS: for fault drills, each task held this long before it is solved (kill the worker meanwhile). */
function holdMs(): number {
  const v = process.env['LINRFM_WORKER_HOLD_MS'];
  if (v === undefined || v === '') return 0;
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 0)) throw Errors.Usage(`LINRFM_WORKER_HOLD_MS: expected an integer >= 0, got "${v}"`);
  return x;
}

export interface StatusFlags {
  cluster: string;
  clusterPrefix?: string;
  clusterUser?: string;
  clusterWait?: number;
  json?: boolean;
}

/** `lin-rfm cluster status`: the workers and the jobs of a Redis, as a short table or JSON. */
export async function cmdClusterStatus(f: StatusFlags): Promise<void> {
  const target = envTarget(f.cluster, f.clusterUser);
  const st = await clusterStatus(target, f.clusterPrefix ?? 'lin-rfm', (f.clusterWait ?? 10) * 1000);
  if (f.json === true) {
    process.stdout.write(JSON.stringify(st, null, 2) + '\n');
    return;
  }
  const out: string[] = [`cluster ${st.cluster}, prefix ${st.prefix}`];
  out.push(`workers: ${st.workers.length}`);
  for (const w of st.workers) out.push(`  ${w.name || '(unnamed)'}  ${w.addr}  connected ${w.age} s, idle ${w.idle} s`);
  out.push(`tasks: ${Object.entries(st.tasks).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  out.push(`jobs: ${st.jobs.length}`);
  for (const j of st.jobs) out.push(`  ${j.job}  sweep ${j.sweep}  ${j.waiting} tasks waiting, ${j.active} in hand`);
  process.stdout.write(out.join('\n') + '\n');
}

/** The Redis of `worker` and `cluster status` (not job commands): the user from the flag or LINRFM_CLUSTER_USER, the password from LINRFM_CLUSTER_PASSWORD. */
function envTarget(url: string, user: string | undefined): ReturnType<typeof clusterTarget> {
  return clusterTarget(url, { user: user ?? process.env['LINRFM_CLUSTER_USER'], password: process.env['LINRFM_CLUSTER_PASSWORD'] });
}
