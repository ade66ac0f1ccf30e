// Seconds of the batched row solves and the Q accumulation, TypeScript vs WASM, at the scale of one sweep (100,000 x 2,000, 5M entries).
//
// `node --import tsx bench/rowsolve.ts [--rows N] [--cols D] [--nnz E] [--reps R] [--lambda L]`
// (or through bench/run.ts once it lists it). Rows get 50% to 150% of the mean length, columns
// uniformly at random; K = I + B B^T / 20 with B d x 20 (SPD, like a kernel of a few sweeps). Each
// figure is the best of R runs (the machine is shared). The two implementations' outputs are
// compared bit for bit and a few rows are checked against their residual, so a wrong or skipped
// computation cannot post a time. Writes bench/results/rowsolve.json (tmp + rename).

import { writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dgemm, rowImplementations, wasmAvailable, type KernelImpl } from '../kernels/index.ts';

interface Flags { rows: number; cols: number; nnz: number; reps: number; lambda: number }

function parse(args: string[]): Flags {
  const f: Flags = { rows: 100_000, cols: 2_000, nnz: 5_000_000, reps: 1, lambda: 1e-3 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = Number(args[i + 1]);
    if (a === '--rows') f.rows = v;
    else if (a === '--cols') f.cols = v;
    else if (a === '--nnz') f.nnz = v;
    else if (a === '--reps') f.reps = v;
    else if (a === '--lambda') f.lambda = v;
    else throw new Error(`rowsolve: unknown flag ${a}`);
    i++;
  }
  for (const k of ['rows', 'cols', 'nnz', 'reps'] as const) {
    if (!Number.isInteger(f[k]) || f[k] < 1) throw new Error(`rowsolve: --${k} must be a positive integer, got ${f[k]}`);
  }
  if (!(f.lambda >= 0)) throw new Error(`rowsolve: --lambda must be >= 0, got ${f.lambda}`);
  if (f.nnz / f.rows > f.cols / 1.5) throw new Error('rowsolve: --nnz too large for --rows x --cols');
  if (!wasmAvailable) throw new Error('rowsolve: the WASM kernels are not available (npm run build:wasm)');
  return f;
}

// A plain LCG: repeatable inputs, not quality.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Csr { rowPtr: Int32Array; colIdx: Int32Array; values: Float64Array }

function makeCsr(f: Flags): Csr {
  const u = lcg(1);
  const mean = f.nnz / f.rows;
  const rowPtr = new Int32Array(f.rows + 1);
  for (let i = 0; i < f.rows; i++) rowPtr[i + 1] = rowPtr[i]! + Math.max(1, Math.round(mean * (0.5 + u())));
  const nnz = rowPtr[f.rows]!;
  const colIdx = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  const seen = new Int32Array(f.cols).fill(-1);
  for (let i = 0; i < f.rows; i++) {
    const p0 = rowPtr[i]!, p1 = rowPtr[i + 1]!;
    for (let p = p0; p < p1; p++) {
      let c: number;
      do c = Math.floor(u() * f.cols); while (seen[c] === i);
      seen[c] = i;
      colIdx[p] = c;
      values[p] = 2 * u() - 1;
    }
    colIdx.subarray(p0, p1).sort();
  }
  return { rowPtr, colIdx, values };
}

function makeKernel(d: number): Float64Array {
  const r = 20;
  const u = lcg(2);
  const B = new Float64Array(d * r);
  for (let t = 0; t < B.length; t++) B[t] = 2 * u() - 1;
  const K = new Float64Array(d * d);
  for (let j = 0; j < d; j++) K[j * d + j] = 1;
  return dgemm(false, true, d, d, r, 1 / r, B, r, 0, B, r, 0, 1, K, d, 0);
}

function columnIndex(m: Csr, d: number): { colPtr: Int32Array; rowOf: Int32Array; posOf: Int32Array } {
  const nRows = m.rowPtr.length - 1;
  const nnz = m.rowPtr[nRows]!;
  const colPtr = new Int32Array(d + 1);
  for (let p = 0; p < nnz; p++) colPtr[m.colIdx[p]! + 1]!++;
  for (let j = 0; j < d; j++) colPtr[j + 1]! += colPtr[j]!;
  const next = colPtr.slice(0, d);
  const rowOf = new Int32Array(nnz);
  const posOf = new Int32Array(nnz);
  for (let i = 0; i < nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      const t = next[m.colIdx[p]!]!++;
      rowOf[t] = i;
      posOf[t] = p;
    }
  }
  return { colPtr, rowOf, posOf };
}

// |(K[idx, idx] + lambda I) a - y| <= 1e-9 (1 + |y|) on a few rows.
function checkResidual(m: Csr, d: number, K: Float64Array, lambda: number, a: Float64Array): void {
  const nRows = m.rowPtr.length - 1;
  for (const i of [0, 1, nRows >> 1, nRows - 1]) {
    const p0 = m.rowPtr[i]!, p1 = m.rowPtr[i + 1]!;
    for (let p = p0; p < p1; p++) {
      let s = lambda * a[p]!;
      for (let q = p0; q < p1; q++) s += K[m.colIdx[p]! * d + m.colIdx[q]!]! * a[q]!;
      if (!(Math.abs(s - m.values[p]!) <= 1e-9 * (1 + Math.abs(m.values[p]!)))) {
        throw new Error(`rowsolve: row ${i} does not solve its system (residual ${s - m.values[p]!})`);
      }
    }
  }
}

const sameBits = (x: Float64Array, y: Float64Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

export async function run(args: string[]): Promise<void> {
  const f = parse(args);
  const d = f.cols;
  const m = makeCsr(f);
  const nnz = m.values.length;
  const K = makeKernel(d);
  const cols = columnIndex(m, d);
  const impls: KernelImpl[] = ['js', 'wasm'];
  const a: Record<KernelImpl, Float64Array> = { js: new Float64Array(nnz), wasm: new Float64Array(nnz) };
  const Q: Record<KernelImpl, Float64Array> = { js: new Float64Array(d * d), wasm: new Float64Array(d * d) };
  const solveSec: Record<KernelImpl, number> = { js: Infinity, wasm: Infinity };
  const qSec: Record<KernelImpl, number> = { js: Infinity, wasm: Infinity };
  const setupSec: Record<KernelImpl, number> = { js: 0, wasm: 0 };
  const fallbacks: Record<KernelImpl, number> = { js: 0, wasm: 0 };
  process.stdout.write(`rowsolve: ${f.rows} x ${d}, ${nnz} entries, lambda ${f.lambda}, best of ${f.reps}\n`);
  for (const impl of impls) {
    const t0 = performance.now();
    const rs = rowImplementations[impl].createRowSolver(d, m.rowPtr, m.colIdx, m.values);
    const qa = rowImplementations[impl].createQAccumulator(d, m.rowPtr, m.colIdx, cols.colPtr, cols.rowOf, cols.posOf);
    rs.setKernel(K);
    setupSec[impl] = (performance.now() - t0) / 1000;
    for (let rep = 0; rep < f.reps; rep++) {
      const t1 = performance.now();
      fallbacks[impl] = rs.solve(f.lambda, 0, f.rows, a[impl]);
      const t2 = performance.now();
      qa.accumulate(a[impl], 0, d, Q[impl]);
      const t3 = performance.now();
      solveSec[impl] = Math.min(solveSec[impl], (t2 - t1) / 1000);
      qSec[impl] = Math.min(qSec[impl], (t3 - t2) / 1000);
    }
    rs.dispose();
    qa.dispose();
    process.stdout.write(
      `  ${impl.padEnd(4)}  row solves ${solveSec[impl].toFixed(3)} s  Q ${qSec[impl].toFixed(3)} s  ` +
      `(setup: copies + K ${setupSec[impl].toFixed(3)} s, fallbacks ${fallbacks[impl]})\n`,
    );
  }
  checkResidual(m, d, K, f.lambda, a.wasm);
  const identical = { a: sameBits(a.js, a.wasm), Q: sameBits(Q.js, Q.wasm) };
  if (!identical.a || !identical.Q || fallbacks.js !== fallbacks.wasm) {
    throw new Error(`rowsolve: the implementations disagree (a identical ${identical.a}, Q identical ${identical.Q})`);
  }
  const ratio = { solve: solveSec.js / solveSec.wasm, Q: qSec.js / qSec.wasm };
  process.stdout.write(`  speed-up (TS / WASM): row solves ${ratio.solve.toFixed(2)}x, Q ${ratio.Q.toFixed(2)}x; outputs bit-identical\n`);
  const out = {
    bench: 'rowsolve',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    rows: f.rows, cols: d, nnz, lambda: f.lambda, reps: f.reps,
    seconds: { solve: solveSec, accumulateQ: qSec, setup: setupSec },
    ratio, fallbacks, bitIdentical: identical,
  };
  const path = join(dirname(fileURLToPath(import.meta.url)), 'results', 'rowsolve.json');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path + '.tmp', JSON.stringify(out, null, 2) + '\n');
  renameSync(path + '.tmp', path);
  process.stdout.write(`  wrote ${path}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run(process.argv.slice(2));
}
