// GFLOP/s of dgemm (NN, n^3) and dsyrk (A^T A, the engine's 256-row chunk, beta = 1): TypeScript, WASM, the sweep pool and NumPy.
//
// `npm run bench -- gemm [--sizes 500,1000,2000] [--impls wasm,wasm-resident,pooled,numpy,js]
// [--reps N] [--js-max-seconds S] [--threads T]`. Each figure is the best of several runs (the
// machine is shared). "wasm" is the drop-in call on ordinary Float64Arrays (operands copied in and
// out of wasm memory); "wasm-resident" keeps every operand in wasm memory (wasmAlloc), as a caller
// avoiding the copies would; "pooled" runs the factored AGOP's GEMM phase as the engine does (its
// row blocks over shared memory on the sweep pool, a fresh B each run); "numpy" is A @ B in a
// python3 child (OpenBLAS, all cores), measured in the same run for the ratio. "js" (the
// TypeScript kernels) is slow and only on request. Each result is checked against dot products at
// a few entries, so nothing is optimised away and a wrong kernel cannot post a fast time. Writes
// bench/results/gemm.json.

import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { implementations, wasmAlloc, wasmAvailable, wasmFma, wasmFree, wasmRefresh } from '../kernels/index.ts';
import { gemmRowRanges, nextOperandKey, SweepPool, type Block, type SweepArrays } from '../pipeline/index.ts';

const js = implementations.js;
const wasm = { ...implementations.wasm, wasmAlloc, wasmAvailable, wasmFma, wasmFree, wasmRefresh };

type Impl = 'js' | 'wasm' | 'wasm-resident' | 'pooled' | 'numpy';
const IMPLS: Impl[] = ['js', 'wasm', 'wasm-resident', 'pooled', 'numpy'];
// The ones timed for dsyrk (the pool and NumPy only run the GEMM).
const SYRK_IMPLS: Impl[] = ['js', 'wasm', 'wasm-resident'];

interface Flags {
  sizes: number[];
  impls: Impl[];
  reps: number;
  jsMaxSeconds: number;
  threads: number;
}

function parse(args: string[]): Flags {
  const f: Flags = {
    sizes: [500, 1000, 2000], impls: ['wasm', 'wasm-resident', 'pooled', 'numpy'], reps: 5, jsMaxSeconds: 20,
    threads: availableParallelism(),
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === '--sizes' && v) (f.sizes = v.split(',').map(Number)), i++;
    else if (a === '--impls' && v) (f.impls = v.split(',') as Impl[]), i++;
    else if (a === '--reps' && v) (f.reps = Number(v)), i++;
    else if (a === '--js-max-seconds' && v) (f.jsMaxSeconds = Number(v)), i++;
    else if (a === '--threads' && v) (f.threads = Number(v)), i++;
    else throw new Error(`gemm: unknown flag ${a}`);
  }
  for (const n of f.sizes) if (!Number.isInteger(n) || n < 1) throw new Error(`gemm: --sizes must be positive integers, got ${n}`);
  for (const m of f.impls) if (!IMPLS.includes(m)) throw new Error(`gemm: --impls takes ${IMPLS.join(',')}, got ${m}`);
  if (!(f.reps >= 1)) throw new Error(`gemm: --reps must be >= 1, got ${f.reps}`);
  if (!(Number.isInteger(f.threads) && f.threads >= 1)) throw new Error(`gemm: --threads must be an integer >= 1, got ${f.threads}`);
  if (f.impls.some((m) => m.startsWith('wasm')) && !wasm.wasmAvailable) throw new Error('gemm: the WASM kernels are not available (npm run build:wasm)');
  return f;
}

// Deterministic data in [-1, 1) (a plain LCG: the bench needs repeatable inputs, not quality).
function fill(x: Float64Array, seed: number): Float64Array {
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2147483648 - 1;
  }
  return x;
}

// Arrays for one implementation: plain ones, or resident copies in wasm memory.
function place(impl: Impl, x: Float64Array): Float64Array {
  if (impl !== 'wasm-resident') return x;
  const v = wasm.wasmAlloc(x.length);
  v.set(x);
  return v;
}

// |got - want| <= 1e-10 (|terms|) at a few fixed entries; `want(i, j)` returns [sum, sum of |terms|].
function check(what: string, n: number, got: (i: number, j: number) => number, want: (i: number, j: number) => [number, number]): void {
  const probes: Array<[number, number]> = [[0, 0], [n - 1, n - 1], [n - 1, 0], [0, n - 1], [n >> 1, n >> 2], [n >> 2, n >> 1]];
  for (const [i, j] of probes) {
    const [w, mag] = want(i, j);
    const g = got(i, j);
    if (!(Math.abs(g - w) <= 1e-10 * Math.max(1, mag))) {
      throw new Error(`gemm: ${what}: C(${i}, ${j}) = ${g}, a dot product gives ${w}`);
    }
  }
}

function checkGemm(what: string, n: number, C: Float64Array, A0: Float64Array, B0: Float64Array): void {
  check(what, n, (i, j) => C[i * n + j]!, (i, j) => {
    let s = 0, mag = 0;
    for (let p = 0; p < n; p++) {
      const t = A0[i * n + p]! * B0[p * n + j]!;
      s += t;
      mag += Math.abs(t);
    }
    return [s, mag];
  });
}

interface Row {
  op: 'dgemm NN' | 'dsyrk T k=256';
  n: number;
  k: number;
  impl: Impl;
  runs: number;
  bestSeconds: number;
  gflops: number;
}

function timeBest(reps: number, maxSeconds: number, f: () => void): { best: number; runs: number } {
  let best = Infinity;
  let runs = 0;
  let spent = 0;
  while (runs < reps && (runs === 0 || spent + best <= maxSeconds)) {
    const t0 = performance.now();
    f();
    const s = (performance.now() - t0) / 1000;
    best = Math.min(best, s);
    spent += s;
    runs++;
  }
  return { best, runs };
}

function benchGemm(impl: Impl, n: number, flags: Flags): Row {
  const A0 = fill(new Float64Array(n * n), n), B0 = fill(new Float64Array(n * n), n + 1);
  const A = place(impl, A0), B = place(impl, B0);
  let C = place(impl, new Float64Array(n * n));
  const f = impl === 'js' ? js.dgemm : wasm.dgemm;
  f(false, false, n, n, n, 1, A, n, 0, B, n, 0, 0, C, n, 0); // warm-up (and JIT)
  const { best, runs } = timeBest(flags.reps, impl === 'js' ? flags.jsMaxSeconds : Infinity, () => {
    f(false, false, n, n, n, 1, A, n, 0, B, n, 0, 0, C, n, 0);
  });
  if (impl === 'wasm-resident') C = wasm.wasmRefresh(C);
  checkGemm(`dgemm ${impl} n=${n}`, n, C, A0, B0);
  if (impl === 'wasm-resident') for (const v of [A, B, C]) wasm.wasmFree(v);
  return { op: 'dgemm NN', n, k: n, impl, runs, bestSeconds: best, gflops: (2 * n * n * n) / best / 1e9 };
}

// The engine's hot call: G (n x n) += Y_c^T Y_c for a 256-row chunk Y_c, with beta = 1.
function benchSyrk(impl: Impl, n: number, flags: Flags): Row {
  const k = 256;
  const A0 = fill(new Float64Array(k * n), 3 * n);
  const A = place(impl, A0);
  let C = place(impl, new Float64Array(n * n));
  const f = impl === 'js' ? js.dsyrk : wasm.dsyrk;
  let calls = 0;
  f(true, n, k, 1, A, n, 0, 1, C, n, 0);
  calls++;
  const { best, runs } = timeBest(flags.reps, impl === 'js' ? flags.jsMaxSeconds : Infinity, () => {
    f(true, n, k, 1, A, n, 0, 1, C, n, 0);
    calls++;
  });
  if (impl === 'wasm-resident') C = wasm.wasmRefresh(C);
  // C started at zero and accumulated `calls` identical chunks.
  check(`dsyrk ${impl} n=${n}`, n, (i, j) => C[i * n + j]!, (i, j) => {
    let s = 0, mag = 0;
    for (let p = 0; p < k; p++) {
      const t = A0[p * n + i]! * A0[p * n + j]!;
      s += t;
      mag += Math.abs(t);
    }
    return [calls * s, calls * mag];
  });
  if (impl === 'wasm-resident') for (const v of [A, C]) wasm.wasmFree(v);
  // Useful flops of a rank-k update: n (n + 1) k (the lower triangle and diagonal, 2 flops each).
  return { op: 'dsyrk T k=256', n, k, impl, runs, bestSeconds: best, gflops: (n * (n + 1) * k) / best / 1e9 };
}

// The engine's GEMM phase: rows blocks of C = A B (gemmRowRanges, the default blockFlops) on the
// pool, operands in shared memory; a new bKey each run, as each phase of the engine has a new B.
async function benchPooled(pool: SweepPool, n: number, flags: Flags): Promise<Row> {
  const shared = (x: Float64Array): Float64Array => {
    const s = new Float64Array(new SharedArrayBuffer(x.length * 8));
    s.set(x);
    return s;
  };
  const A0 = fill(new Float64Array(n * n), n), B0 = fill(new Float64Array(n * n), n + 1);
  const A = shared(A0), B = shared(B0), C = shared(new Float64Array(n * n));
  const arrays = gemmArrays(n, [A, B, C]);
  const ranges = gemmRowRanges(n, 1e6);
  const phase = (): Block[] => {
    const bKey = nextOperandKey();
    return ranges.map(([r0, r1]): Block => ({ kind: 'gemm', A: 0, B: 1, C: 2, r0, r1, alpha: 1, bKey }));
  };
  await pool.runBlocks(arrays, phase()); // warm-up (and JIT in every worker)
  let best = Infinity;
  for (let rep = 0; rep < flags.reps; rep++) {
    const blocks = phase();
    const t0 = performance.now();
    await pool.runBlocks(arrays, blocks);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  checkGemm(`dgemm pooled n=${n}`, n, C, A0, B0);
  return { op: 'dgemm NN', n, k: n, impl: 'pooled', runs: flags.reps, bestSeconds: best, gflops: (2 * n * n * n) / best / 1e9 };
}

// A @ B in NumPy, best of reps, with its own check; OpenBLAS threads over all cores.
const NUMPY_GEMM = `
import json, sys, time
import numpy as np
sizes = [int(s) for s in sys.argv[1].split(",")]
reps = int(sys.argv[2])
out = {"numpy": np.__version__, "seconds": {}}
for n in sizes:
    rng = np.random.default_rng(n)
    A = rng.standard_normal((n, n))
    B = rng.standard_normal((n, n))
    C = A @ B
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        C = A @ B
        best = min(best, time.perf_counter() - t)
    assert abs(C[3, 5] - A[3, :] @ B[:, 5]) < 1e-8 * n
    out["seconds"][str(n)] = best
print(json.dumps(out))
`;

function benchNumpy(sizes: number[], reps: number): { version: string; rows: Row[] } | null {
  const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0);
  if (python === undefined) {
    process.stderr.write('gemm: no python3 with numpy: skipping the NumPy figures\n');
    return null;
  }
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pin old OpenBLAS builds to a slow kernel; unset for the peer.
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  const r = spawnSync(python, ['-c', NUMPY_GEMM, sizes.join(','), String(reps)], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gemm: the NumPy run failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { numpy: string; seconds: Record<string, number> };
  return {
    version: out.numpy,
    rows: sizes.map((n): Row => {
      const best = out.seconds[String(n)]!;
      return { op: 'dgemm NN', n, k: n, impl: 'numpy', runs: reps, bestSeconds: best, gflops: (2 * n * n * n) / best / 1e9 };
    }),
  };
}

export async function run(args: string[]): Promise<void> {
  const flags = parse(args);
  const results: Row[] = [];
  const numpy = flags.impls.includes('numpy') ? benchNumpy(flags.sizes, flags.reps) : null;
  const pool = flags.impls.includes('pooled') ? new SweepPool(flags.threads) : null;
  try {
    for (const n of flags.sizes) {
      const line: string[] = [];
      const got = new Map<Impl, number>();
      for (const impl of flags.impls) {
        let r: Row | undefined;
        if (impl === 'pooled') r = await benchPooled(pool!, n, flags);
        else if (impl === 'numpy') r = numpy?.rows.find((x) => x.n === n);
        else r = benchGemm(impl, n, flags);
        if (r === undefined) continue;
        results.push(r);
        got.set(impl, r.gflops);
        line.push(`${impl} ${r.gflops.toFixed(2)}`);
      }
      const np = got.get('numpy');
      const ours = got.get('pooled') ?? got.get('wasm-resident');
      if (np !== undefined && ours !== undefined) line.push(`${got.has('pooled') ? 'pooled' : 'wasm-resident'}/numpy ${(ours / np).toFixed(2)}`);
      process.stdout.write(`dgemm NN      n=${String(n).padEnd(5)} GFLOP/s: ${line.join(', ')}\n`);
    }
  } finally {
    await pool?.close();
  }
  const syrkImpls = flags.impls.filter((m) => SYRK_IMPLS.includes(m));
  for (const n of syrkImpls.length > 0 ? flags.sizes : []) {
    const line: string[] = [];
    for (const impl of syrkImpls) {
      const r = benchSyrk(impl, n, flags);
      results.push(r);
      line.push(`${impl} ${r.gflops.toFixed(2)}`);
    }
    process.stdout.write(`dsyrk T k=256 n=${String(n).padEnd(5)} GFLOP/s: ${line.join(', ')}\n`);
  }
  const out = {
    bench: 'gemm',
    note: 'best of the runs; wasm = one thread, operands copied in/out of wasm memory; wasm-resident = one thread, operands in wasm memory; ' +
      `pooled = the engine's GEMM row blocks on ${flags.threads} worker threads; numpy = A @ B (OpenBLAS, all cores)`,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    wasmFma: wasm.wasmFma,
    numpy: numpy?.version ?? null,
    date: new Date().toISOString(),
    results,
  };
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'gemm.json');
  writeFileSync(path + '.tmp', JSON.stringify(out, null, 2) + '\n');
  renameSync(path + '.tmp', path);
  process.stdout.write(`wrote ${path}\n`);
}

/** Sweep arrays that hold only d x d matrices: enough for the engine's 'gemm' blocks. */
export function gemmArrays(d: number, mats: Float64Array[]): SweepArrays {
  return {
    d,
    train: { nRows: 0, nCols: d, rowPtr: new Int32Array(1), colIdx: new Int32Array(0), values: new Float64Array(0) },
    a: new Float64Array(0),
    valRow: new Int32Array(0),
    valCol: new Int32Array(0),
    valValue: new Float64Array(0),
    cols: null,
    mats,
    ybuf: new Float64Array(0),
    maxRow: 0,
    lr: null,
  };
}
