// This engine against a NumPy implementation of the reference algorithm, on the same problems, in one run.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeAsync, nextOperandKey, SweepPool, writeFileAtomic, type Block } from '../pipeline/index.ts';
import { dgemm, Rng } from '../kernels/index.ts';
import { gemmArrays } from './gemm.ts';
import { generateLowRank, unobservedPairs } from '../engine/index.ts';
import { lineChart } from '../paper/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** A python3 that imports numpy; installs Debian's python3-numpy when none does. */
function findNumpyPython(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  process.stderr.write('compare: no python3 with numpy; installing python3-numpy with apt-get\n');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'python3-numpy'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('compare: apt-get install python3-numpy failed');
  return '/usr/bin/python3';
}

function gemmGflops(size: number): number {
  const rng = new Rng(size);
  const A = new Float64Array(size * size).map(() => rng.normal());
  const B = new Float64Array(size * size).map(() => rng.normal());
  const C = new Float64Array(size * size);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    dgemm(false, false, size, size, size, 1, A, size, 0, B, size, 0, 0, C, size, 0);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  let check = 0;
  for (let k = 0; k < size; k++) check += A[3 * size + k]! * B[k * size + 5]!;
  if (Math.abs(check - C[3 * size + 5]!) > 1e-8 * size) throw new Error('compare: GEMM self-check failed');
  return (2 * size ** 3) / best / 1e9;
}

/** GEMM on the sweep pool: row blocks of C = A B on all worker threads, as the engine runs them. */
async function pooledGemmGflops(pool: SweepPool, size: number): Promise<number> {
  const shared = (len: number): Float64Array => new Float64Array(new SharedArrayBuffer(len * 8));
  const rng = new Rng(size + 1);
  const A = shared(size * size).map(() => rng.normal());
  const B = shared(size * size).map(() => rng.normal());
  const C = shared(size * size);
  const arrays = gemmArrays(size, [A, B, C]);
  // one row block per thread: the fewest packings of B
  const rowsPer = Math.max(4, Math.ceil(size / pool.threads / 4) * 4);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 4; rep++) {
    const bKey = nextOperandKey();
    const blocks: Block[] = [];
    for (let r0 = 0; r0 < size; r0 += rowsPer) blocks.push({ kind: 'gemm', A: 0, B: 1, C: 2, r0, r1: Math.min(size, r0 + rowsPer), alpha: 1, bKey });
    const t = performance.now();
    await pool.runBlocks(arrays, blocks);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  let check = 0;
  for (let k = 0; k < size; k++) check += A[7 * size + k]! * B[k * size + 9]!;
  if (Math.abs(check - C[7 * size + 9]!) > 1e-8 * size) throw new Error('compare: pooled GEMM self-check failed');
  return (2 * size ** 3) / best / 1e9;
}

export async function run(args: string[]): Promise<void> {
  let seed = 0;
  let maxSweeps = 3000;
  const target = 1e-3;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seed') seed = Number(args[++i]);
    else if (args[i] === '--max-sweeps') maxSweeps = Number(args[++i]);
    else throw new Error(`compare: unknown flag ${args[i]}`);
  }
  const python = findNumpyPython();
  const n = 500;
  const d = 500;
  const r = 5;
  const p = generateLowRank({ rows: n, cols: d, rank: r, observed: 10_000, seed });
  const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-compare-'));
  try {
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ n, d, r, scale: p.scale }));
    writeFileSync(join(dir, 'U.f64'), p.U);
    writeFileSync(join(dir, 'V.f64'), p.V);
    const obs = new Int32Array(2 * 10_000);
    for (let i = 0, e = 0; i < n; i++) {
      for (let q = p.train.rowPtr[i]!; q < p.train.rowPtr[i + 1]!; q++, e++) {
        obs[2 * e] = i;
        obs[2 * e + 1] = p.train.colIdx[q]!;
      }
    }
    writeFileSync(join(dir, 'obs.i32'), obs);

    process.stderr.write(`compare: NumPy reference algorithm on the paper case (seed ${seed}); this takes minutes\n`);
    // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pin old OpenBLAS builds to a slow kernel; unset for the peer only.
    const env = { ...process.env };
    delete env['OPENBLAS_CORETYPE'];
    delete env['OPENBLAS_L2_SIZE'];
    const py = spawnSync(python, [join(here, 'numpy', 'official.py'), dir, String(maxSweeps), String(target)], {
      env,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (py.status !== 0) throw new Error(`compare: NumPy run failed: ${py.stderr}`);
    const numpy = JSON.parse(py.stdout) as {
      numpy: string;
      python: string;
      blas: { name: string | null; version: string | null; core: string | null };
      gemm: Record<string, number>;
      run: { sweeps: number; sweepsToTarget: number; seconds: number; secondsPerSweep: number; finalTestMse: number; history: { sweep: number; testMse: number; seconds: number; elapsed: number }[] };
      peakRssBytes: number;
    };

    process.stderr.write('compare: this engine on the same problem\n');
    const ours = { gemm: {} as Record<string, number>, gemmOneThread: {} as Record<string, number> };
    const pool = new SweepPool();
    for (const s of [500, 1000, 2000]) {
      ours.gemmOneThread[String(s)] = gemmGflops(s);
      ours.gemm[String(s)] = await pooledGemmGflops(pool, s);
    }
    const { rows, cols } = unobservedPairs(p.train);
    const truth = new Float64Array(rows.length);
    for (let e = 0; e < rows.length; e++) truth[e] = p.truth(rows[e]!, cols[e]!);
    const pred = new Float64Array(rows.length);
    const curve: [number, number][] = [];
    let hit = -1;
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const t0 = performance.now();
    const res = await completeAsync(p.train, { seed, maxSweeps, tol: 0, patience: 50, pool, finalRidge: 'keep' }, (info, probe) => {
      probe.predict(rows, cols, pred);
      let s = 0;
      for (let e = 0; e < rows.length; e++) s += (pred[e]! - truth[e]!) ** 2;
      const mse = s / rows.length;
      curve.push([info.sweep, mse]);
      if (mse < target) {
        hit = info.sweep + 1;
        return 'stop';
      }
      return undefined;
    });
    const monitoredSeconds = (performance.now() - t0) / 1000;
    // The engine is deterministic: a second run capped at the sweep count found above retraces the
    // same sweeps bit for bit, without the test-error report (this bench's, not the engine's cost),
    // from the raw data to the model, including its own pool start.
    let seconds = monitoredSeconds;
    if (hit > 0) {
      await pool.close();
      const t2 = performance.now();
      const again = await completeAsync(p.train, { seed, maxSweeps: hit, tol: 0, patience: 50, finalRidge: 'keep' });
      seconds = (performance.now() - t2) / 1000;
      if (again.sweeps !== hit || again.history.at(-1)!.validationRmse !== res.history[hit - 1]!.validationRmse) {
        throw new Error('compare: the timed rerun did not retrace the monitored run');
      }
    } else await pool.close();
    // Per-sweep engine time (the callback's test-error evaluation excluded).
    const elapsed = res.history.reduce((acc, h) => acc + h.seconds, 0);
    const ourRun = {
      sweeps: res.sweeps,
      sweepsToTarget: hit,
      seconds,
      monitoredSeconds,
      engineSeconds: elapsed,
      secondsPerSweep: elapsed / res.sweeps,
      finalTestMse: curve.length ? curve[curve.length - 1]![1] : Number.NaN,
    };
    const peak = process.resourceUsage().maxRSS * 1024;

    const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
    const lines = [
      `                         this engine        NumPy reference   ratio`,
      ...['500', '1000', '2000'].map(
        (s) => `GEMM ${s.padEnd(4)} GFLOP/s       ${ours.gemm[s]!.toFixed(2).padStart(8)}          ${numpy.gemm[s]!.toFixed(2).padStart(8)}   ${ratio(ours.gemm[s]!, numpy.gemm[s]!)}  (one thread: ${ours.gemmOneThread[s]!.toFixed(2)})`,
      ),
      `seconds per sweep         ${ourRun.secondsPerSweep.toFixed(4).padStart(8)}          ${numpy.run.secondsPerSweep.toFixed(4).padStart(8)}   ${ratio(numpy.run.secondsPerSweep, ourRun.secondsPerSweep)} faster`,
      `sweeps to test MSE<1e-3   ${String(ourRun.sweepsToTarget).padStart(8)}          ${String(numpy.run.sweepsToTarget).padStart(8)}`,
      `seconds to test MSE<1e-3  ${ourRun.seconds.toFixed(1).padStart(8)}          ${numpy.run.seconds.toFixed(1).padStart(8)}   ${ratio(numpy.run.seconds, ourRun.seconds)} faster (wall: data to model, pool start included; the test-error report ran in a first pass: ${ourRun.monitoredSeconds.toFixed(1)} s)`,
      `  engine time to target    ${ourRun.engineSeconds.toFixed(1).padStart(8)}          ${numpy.run.seconds.toFixed(1).padStart(8)}   ${ratio(numpy.run.seconds, ourRun.engineSeconds)} faster (the sweeps alone)`,
      `peak RSS MB               ${(peak / 1e6).toFixed(0).padStart(8)}          ${(numpy.peakRssBytes / 1e6).toFixed(0).padStart(8)}`,
    ];
    process.stdout.write(`paper case 500 x 500, rank 5, 10,000 observed, seed ${seed}; NumPy ${numpy.numpy} (${numpy.python}), BLAS ${numpy.blas.name ?? '?'} ${numpy.blas.version ?? ''}, core ${numpy.blas.core ?? '?'}; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset\n${lines.join('\n')}\n`);

    const results = join(here, 'results');
    mkdirSync(results, { recursive: true });
    const out = {
      bench: 'compare',
      problem: { rows: n, cols: d, rank: r, observed: 10_000, seed },
      target,
      node: process.version,
      ours: { ...ourRun, gemm: ours.gemm, gemmOneThread: ours.gemmOneThread, threads: pool.threads, peakRssBytes: peak, rssBeforeRunBytes: rssBefore },
      numpy: { version: numpy.numpy, python: numpy.python, blas: numpy.blas, gemm: numpy.gemm, ...numpy.run, peakRssBytes: numpy.peakRssBytes, history: undefined },
    };
    await writeFileAtomic(join(results, 'compare.json'), JSON.stringify(out, null, 2) + '\n');
    const npCurve: [number, number][] = numpy.run.history.map((h) => [h.elapsed, h.testMse]);
    // this engine's curve against its own sweep time (the bench's test-error report left out)
    const cumulative: number[] = [];
    res.history.reduce((acc, h) => (cumulative.push(acc + h.seconds), acc + h.seconds), 0);
    const svg = lineChart(
      [
        { label: 'lin-rfm (this engine)', color: '#1f77b4', points: curve.map(([sweep, e]) => [cumulative[sweep]!, e]) },
        { label: 'NumPy reference', color: '#d62728', points: npCurve },
      ],
      { title: 'Paper case 500 x 500, rank 5: test MSE against time', xLabel: 'seconds (log)', yLabel: 'test MSE (unobserved entries)', logX: true, logY: true },
    );
    await writeFileAtomic(join(results, 'compare.svg'), svg);
    process.stdout.write(`wrote ${join(results, 'compare.json')} and compare.svg\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
