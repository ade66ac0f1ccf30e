// Scale-out on one machine: the e2e job (200,000 x 2,000, rank 10, 8,000,000 observed) spilled and
// run locally, then with --cluster on 1, 2 and 4 `lin-rfm worker` processes and a Redis of its own.
// This machine has 2 cores, so what it shows is the queue's overhead per sweep against the local
// pool (not a speed-up), the bytes a sweep moves per worker, and that the predictions are the same
// bytes. --max-sweeps caps every run (the per-sweep figures are what is compared).
//
//   npm run bench -- cluster                          10 sweeps a run, workers 1,2,4
//   npm run bench -- cluster --max-sweeps 5 --workers 1,2 --rows 50000 --observed 2000000
//   npm run bench -- cluster --kernel low-rank        the low-rank form (results in cluster-low-rank.json)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../pipeline/index.ts';
import { BIN, e2eData, runCli, type DataSpec } from './e2e.ts';
import { startRedis } from './redis.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Spec extends DataSpec {
  kernel: 'dense' | 'low-rank';
  maxSweeps: number;
  spillChunk: number;
  workers: number[];
}

function parse(args: string[]): Spec {
  const s: Spec = { rows: 200_000, cols: 2_000, rank: 10, observed: 8_000_000, truth: 20_000, seed: 4, kernel: 'dense', maxSweeps: 10, spillChunk: 1_000_000, workers: [1, 2, 4], work: join(here, 'work', 'cluster') };
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1]!;
    switch (args[i]) {
      case '--rows': s.rows = Number(v); break;
      case '--cols': s.cols = Number(v); break;
      case '--rank': s.rank = Number(v); break;
      case '--observed': s.observed = Number(v); break;
      case '--seed': s.seed = Number(v); break;
      case '--max-sweeps': s.maxSweeps = Number(v); break;
      case '--kernel':
        if (v !== 'dense' && v !== 'low-rank') throw new Error(`cluster: --kernel ${v}: dense or low-rank`);
        s.kernel = v;
        break;
      case '--spill-chunk': s.spillChunk = Number(v); break;
      case '--workers': s.workers = v.split(',').map(Number); break;
      case '--work': s.work = resolve(v); break;
      default: throw new Error(`cluster: unknown flag ${args[i]}`);
    }
    i++;
  }
  return s;
}

interface Traffic {
  passes?: number;
  tasks: number;
  retried: number;
  bytesOut: number;
  bytesIn: number;
  slowest: { seconds: number } | null;
}

interface RunFigures {
  workers: number | 'local';
  sweeps: number;
  sweepSeconds: number;
  perSweep: number;
  wallSeconds: number;
  identical: boolean | null;
  /**
   * Per sweep and worker: dense, the kernel it reads once plus its share of the tasks and results;
   * low-rank, its share of everything through Redis (operands counted once: each worker reads them).
   */
  bytesPerSweepPerWorker: number | null;
  peakRssBytes: number;
}

function startWorkers(n: number, url: string, storage: string): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, [BIN, 'worker', '--cluster', url, '--cluster-storage', storage, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise<void>((r) => {
    if (w.exitCode !== null) return r();
    w.once('exit', () => r());
    w.kill('SIGTERM');
  })));
}

export async function run(args: string[]): Promise<void> {
  const s = parse(args);
  const data = await e2eData(s);
  const storage = join(s.work, 'store');
  rmSync(storage, { recursive: true, force: true });
  mkdirSync(storage, { recursive: true });
  const base = ['complete', '--input', data.ratings, '--predict', data.pairsPath, '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating',
    '--seed', String(s.seed), '--max-sweeps', String(s.maxSweeps), '--tol', '0', '--spill-chunk', String(s.spillChunk), '--workers', '2', '--kernel', s.kernel];
  const figures: RunFigures[] = [];
  const outputOf = (name: string): string => join(s.work, `out-${name}`);
  const measure = async (name: string, extra: string[], workers: number | 'local'): Promise<RunFigures> => {
    const out = outputOf(name);
    rmSync(out, { recursive: true, force: true });
    process.stdout.write(`lin-rfm ${[...base, '--output', out, ...extra].join(' ')}\n`);
    const r = await runCli([...base, '--output', out, ...extra]);
    if (r.code !== 0) throw new Error(`lin-rfm exited ${r.code}: ${r.lastError}`);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { seconds: number; sweeps: number; peakRssBytes: number; cluster: { sweeps: Traffic[] } | null };
    const f: RunFigures = {
      workers, sweeps: report.sweeps, sweepSeconds: report.seconds, perSweep: report.seconds / report.sweeps, wallSeconds: r.seconds,
      identical: null, bytesPerSweepPerWorker: null, peakRssBytes: report.peakRssBytes,
    };
    if (report.cluster !== null && typeof workers === 'number') {
      const t = report.cluster.sweeps;
      const kernel = s.kernel === 'dense' ? 8 * s.cols * s.cols : 0;
      const moved = t.reduce((a, x) => a + x.bytesOut - kernel + x.bytesIn, 0) / t.length;
      f.bytesPerSweepPerWorker = kernel + moved / workers;
      f.identical = readFileSync(join(out, 'predictions.parquet')).equals(readFileSync(join(outputOf('local'), 'predictions.parquet')));
    }
    process.stdout.write(`  ${workers === 'local' ? 'local pool' : `${workers} worker${workers > 1 ? 's' : ''}`}: ${f.sweeps} sweeps, ${f.perSweep.toFixed(2)} s a sweep, wall ${f.wallSeconds.toFixed(0)} s`
      + `${f.bytesPerSweepPerWorker === null ? '' : `, ${(f.bytesPerSweepPerWorker / 1e6).toFixed(1)} MB a sweep per worker, predictions ${f.identical ? 'identical' : 'DIFFERENT'}`}\n`);
    return f;
  };

  const agop = s.kernel === 'dense' ? ['--agop', 'factored'] : [];
  figures.push(await measure('local', ['--spill', 'always', ...agop, '--work-dir', join(s.work, 'spill')], 'local'));
  const redis = await startRedis();
  try {
    for (const n of s.workers) {
      const ws = startWorkers(n, redis.url, storage);
      try {
        figures.push(await measure(`w${n}`, ['--cluster', redis.url, '--cluster-storage', storage], n));
      } finally {
        await stopWorkers(ws);
      }
    }
  } finally {
    await redis.stop();
  }
  const local = figures[0]!;
  const rows = figures.slice(1).map((f) => ({ ...f, overhead: f.perSweep / local.perSweep - 1 }));
  process.stdout.write(`\n${s.rows} x ${s.cols}, ${s.observed} observed, the ${s.kernel} kernel, ${s.maxSweeps} sweeps a run, coordinator pool of 2 threads, 2 cores in all:\n`);
  process.stdout.write(`  local pool: ${local.perSweep.toFixed(2)} s a sweep\n`);
  for (const r of rows) {
    process.stdout.write(`  ${r.workers} worker process${r.workers === 1 ? '' : 'es'}: ${r.perSweep.toFixed(2)} s a sweep, overhead ${(100 * r.overhead).toFixed(1)}% against the local pool, `
      + `${(r.bytesPerSweepPerWorker! / 1e6).toFixed(1)} MB a sweep per worker, predictions ${r.identical ? 'byte-identical' : 'DIFFERENT'}\n`);
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  const path = join(here, 'results', s.kernel === 'dense' ? 'cluster.json' : `cluster-${s.kernel}.json`);
  await writeFileAtomic(path, JSON.stringify({ bench: 'cluster', node: process.version, spec: { ...s, work: undefined }, local, runs: rows }, null, 2) + '\n');
  process.stdout.write(`wrote ${path}\n`);
  if (rows.some((r) => !r.identical)) process.exitCode = 1;
}
