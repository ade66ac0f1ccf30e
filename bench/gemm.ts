// GFLOP/s of dgemm (NN, n^3) and dsyrk (A^T A, the engine's 256-row chunk, beta = 1): TypeScript vs WASM, copied vs resident operands.
//
// `npm run bench -- gemm [--sizes 500,1000,2000] [--impls js,wasm,wasm-resident] [--reps N]
// [--js-max-seconds S]`. Each figure is the best of several runs (the machine is shared). "wasm"
// is the drop-in call on ordinary Float64Arrays (operands copied in and out of wasm memory);
// "wasm-resident" keeps every operand in wasm memory (wasmAlloc), as a caller avoiding the copies
// would. Each result is checked against dot products at a few entries, so nothing is optimised
// away and a wrong kernel cannot post a fast time. Writes bench/results/gemm.json.

import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as js from '../kernels/blas.ts';
import * as wasm from '../kernels/wasm.ts';

type Impl = 'js' | 'wasm' | 'wasm-resident';
const IMPLS: Impl[] = ['js', 'wasm', 'wasm-resident'];

interface Flags {
  sizes: number[];
  impls: Impl[];
  reps: number;
  jsMaxSeconds: number;
}

function parse(args: string[]): Flags {
  const f: Flags = { sizes: [500, 1000, 2000], impls: [...IMPLS], reps: 5, jsMaxSeconds: 20 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === '--sizes' && v) (f.sizes = v.split(',').map(Number)), i++;
    else if (a === '--impls' && v) (f.impls = v.split(',') as Impl[]), i++;
    else if (a === '--reps' && v) (f.reps = Number(v)), i++;
    else if (a === '--js-max-seconds' && v) (f.jsMaxSeconds = Number(v)), i++;
    else throw new Error(`gemm: unknown flag ${a}`);
  }
  for (const n of f.sizes) if (!Number.isInteger(n) || n < 1) throw new Error(`gemm: --sizes must be positive integers, got ${n}`);
  for (const m of f.impls) if (!IMPLS.includes(m)) throw new Error(`gemm: --impls takes ${IMPLS.join(',')}, got ${m}`);
  if (!(f.reps >= 1)) throw new Error(`gemm: --reps must be >= 1, got ${f.reps}`);
  if (f.impls.some((m) => m !== 'js') && !wasm.wasmAvailable) throw new Error('gemm: the WASM kernels are not available (npm run build:wasm)');
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
  check(`dgemm ${impl} n=${n}`, n, (i, j) => C[i * n + j]!, (i, j) => {
    let s = 0, mag = 0;
    for (let p = 0; p < n; p++) {
      const t = A0[i * n + p]! * B0[p * n + j]!;
      s += t;
      mag += Math.abs(t);
    }
    return [s, mag];
  });
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

export async function run(args: string[]): Promise<void> {
  const flags = parse(args);
  const results: Row[] = [];
  for (const [op, bench] of [['dgemm NN', benchGemm], ['dsyrk T k=256', benchSyrk]] as const) {
    for (const n of flags.sizes) {
      const line: string[] = [];
      for (const impl of flags.impls) {
        const r = bench(impl, n, flags);
        results.push(r);
        line.push(`${impl} ${r.gflops.toFixed(2)}`);
      }
      process.stdout.write(`${op.padEnd(14)} n=${String(n).padEnd(5)} GFLOP/s: ${line.join(', ')}\n`);
    }
  }
  const out = {
    bench: 'gemm',
    note: 'best of the runs; single thread; wasm = operands copied in/out of wasm memory, wasm-resident = operands in wasm memory',
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
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
