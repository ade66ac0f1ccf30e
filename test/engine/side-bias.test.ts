// The kernel side's biases fitted with the sweeps (engine/side-bias.ts): one half step against the
// ridge minimiser of each column's residuals computed directly from U and bs; on data with strong
// column biases, the fitted biases against the true ones and the completion against mean centering at
// the same tight rank; the same bits on 1, 2 and 3 workers and across checkpoints; spilled runs; what is refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../io/checkpoint-file.ts';
import { BIAS_REG } from '../../engine/center.ts';
import { csrFromTriplets, type Csr } from '../../engine/csr.ts';
import { solveRowsLowRank, type LowRankKernel } from '../../engine/lowrank.ts';
import type { CompletionResult, EngineOptions } from '../../engine/options.ts';
import { inMemorySideBias } from '../../engine/side-bias.ts';
import { prepareData } from '../../engine/split.ts';
import type { EngineState } from '../../engine/state.ts';
import { Rng } from '../../kernels/random.ts';
import { orthonormalize } from '../../engine/lowrank.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';
import { maxRelDiff } from '../relative-error.ts';

const SEED = 43;

/** mean + row bias + column bias + a rank-2 signal + small noise, 25% observed; test pairs (unobserved) with noiseless truth. */
function biasedProblem(seed: number, n = 400, d = 60) {
  const rng = new Rng(seed);
  const r = 2;
  const mean = 3;
  const U = Float64Array.from({ length: n * r }, () => rng.normal());
  const V = Float64Array.from({ length: d * r }, () => rng.normal() / Math.sqrt(r));
  const rowBias = Float64Array.from({ length: n }, () => 0.3 * rng.normal());
  const colBias = Float64Array.from({ length: d }, () => rng.normal());
  const truth = (i: number, j: number): number => mean + rowBias[i]! + colBias[j]! + U[i * r]! * V[j * r]! + U[i * r + 1]! * V[j * r + 1]!;
  const tr = { rows: [] as number[], cols: [] as number[], values: [] as number[] };
  const te = { rows: [] as number[], cols: [] as number[], values: [] as number[] };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const u = rng.uniform();
      if (u < 0.25) {
        tr.rows.push(i);
        tr.cols.push(j);
        tr.values.push(truth(i, j) + 0.05 * rng.normal());
      } else if (u < 0.3) {
        te.rows.push(i);
        te.cols.push(j);
        te.values.push(truth(i, j));
      }
    }
  }
  const train = csrFromTriplets(n, d, tr.values.length, Int32Array.from(tr.rows), Int32Array.from(tr.cols), Float64Array.from(tr.values));
  const test = { rows: Int32Array.from(te.rows), cols: Int32Array.from(te.cols), values: Float64Array.from(te.values) };
  return { train, test, mean, colBias, V };
}

const rms = (x: ArrayLike<number>): number => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);

describe(`side biases (data seed ${SEED})`, () => {
  const p = biasedProblem(SEED);

  it('one half step is the ridge minimiser of each column\'s residual y - U_j . bs_i, to 1e-12', () => {
    const data = prepareData(p.train, 0.05, SEED);
    const y0 = data.train.values.slice();
    const { side } = inMemorySideBias(data, { train0: y0, val0: data.valValue.slice() });
    side.apply(side.current);
    // a kernel of rank 3 with random orthonormal directions and weights
    const rng = new Rng(SEED + 1);
    const d = data.train.nCols;
    const k = 3;
    const U = Float64Array.from({ length: d * k }, () => rng.normal());
    expect(orthonormalize(d, k, U)).toBe(true);
    const K: LowRankKernel = { d, k, U, w: Float64Array.of(40, 9, 2), tauK: 0.1 };
    const fit = { a: new Float64Array(data.train.values.length), bs: new Float64Array(data.train.nRows * k), c: 0 };
    expect(solveRowsLowRank(K, 0.05, data.train, fit, 0, data.train.nRows)).toBe(0);
    side.add(data.train.colIdx, fit.a, fit.c, fit.a.length);
    side.step();
    const m: Csr = data.train;
    const sum = new Float64Array(d);
    const count = new Float64Array(d);
    for (let i = 0; i < m.nRows; i++) {
      for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) {
        const j = m.colIdx[q]!;
        let f = 0;
        for (let e = 0; e < k; e++) f += U[j * k + e]! * fit.bs[i * k + e]!;
        sum[j] += y0[q]! - f;
        count[j]++;
      }
    }
    // the minimiser of sum_i (y_ij - c_j - U_j . bs_i)^2 + reg (c_j - mean)^2
    for (let j = 0; j < d; j++) expect(side.current[j]).toBeCloseTo((sum[j]! + BIAS_REG * side.mean) / (count[j]! + BIAS_REG), 12);
  });

  const base: Partial<EngineOptions> = { seed: SEED, kernel: 'low-rank', kernelRank: 3, maxSweeps: 60 };
  const relError = (r: CompletionResult, offset = 0): number => {
    const pred = r.predict(p.test.rows, p.test.cols);
    return rms(Float64Array.from(pred, (v, e) => v + offset - p.test.values[e]!)) / rms(p.test.values);
  };
  const side = complete(p.train, { ...base, sideBias: true });

  it('recovers the column biases, and completes better than mean centering at the same tight rank', () => {
    const bias = side.model.bias!;
    expect(bias).toHaveLength(60);
    // the fitted biases are the mean and the column biases up to what the signal and the rows' biases
    // can trade with them (a constant, and the signal's column factors V): the rest of the difference
    // after a least-squares fit on [1, V] is small
    // (the ridge shrinks each bias by n_j / (n_j + reg) towards the mean)
    const n = new Float64Array(60);
    for (const j of p.train.colIdx) n[j]++;
    const diff = Float64Array.from(bias, (b, j) => b - p.mean - (p.colBias[j]! * n[j]!) / (n[j]! + BIAS_REG));
    const X = new Matrix(Array.from({ length: 60 }, (_, j) => [1, p.V[2 * j]!, p.V[2 * j + 1]!]));
    const y = Matrix.columnVector(Array.from(diff));
    const rest = y.sub(X.mmul(solve(X, y))).to1DArray();
    expect(rms(diff)).toBeLessThan(0.1 * rms(p.colBias));
    expect(rms(rest)).toBeLessThan(0.03 * rms(p.colBias));
    // rank 3 holds the signal and the row biases' direction; with the mean alone taken out, the column biases need a fourth
    const centred = { ...p.train, values: Float64Array.from(p.train.values, (v) => v - p.mean) };
    const plain = complete(centred, base);
    const [e1, e0] = [relError(side), relError(plain, p.mean)];
    expect(e1).toBeLessThan(0.05);
    expect(e1).toBeLessThan(0.5 * e0);
  });

  it('1, 2 and 3 workers, and runs resumed from its checkpoints, give the same bits', async () => {
    const o = { ...base, sideBias: true, blockFlops: 2e4, maxSweeps: 24, tol: 0 };
    const states: EngineState[] = [];
    const full = complete(p.train, o, undefined, { checkpointEvery: 5, onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))) });
    expect(states.map((s) => s.bias?.length)).toEqual([180, 180, 180, 180]);
    const bytes = (x: Float64Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
    const same = (r: CompletionResult, what: string): void => {
      expect(r.sweeps, what).toBe(full.sweeps);
      expect(r.history.map((h) => h.validationRmse), what).toEqual(full.history.map((h) => h.validationRmse));
      expect(bytes(r.model.bias!), what).toBe(bytes(full.model.bias!));
      expect(bytes(r.predict(p.test.rows, p.test.cols)), what).toBe(bytes(full.predict(p.test.rows, p.test.cols)));
    };
    for (const workers of [1, 2, 3]) same(await completeAsync(p.train, { ...o, workers }), `${workers} workers`);
    for (const s of states) same(complete(p.train, o, undefined, { resume: s }), `resumed after ${s.sweepsDone}`);
    // a state without side biases is another run's
    const { bias: _, ...without } = states[0]!;
    expect(() => complete(p.train, o, undefined, { resume: without })).toThrow(/other data or options/);
  });

  it('is refused with the dense kernel', () => {
    expect(() => complete(p.train, { seed: SEED, sideBias: true })).toThrow(/sideBias.*low-rank/);
  });

  it('spilled: agrees with the in-memory run to 1e-9, and 1 and 2 workers and a resumed run give the same bits', async () => {
    const work = mkdtempSync(join(tmpdir(), 'lin-rfm-side-bias-'));
    let dirs = 0;
    const spill = () => ({ spill: { dir: join(work, `run-${dirs++}`), chunkEntries: 1500 } });
    try {
      const o = { ...base, sideBias: true, blockFlops: 2e4, maxSweeps: 24, tol: 0 };
      const memory = complete(p.train, o);
      const states: EngineState[] = [];
      const spilled = complete(p.train, { ...o, ...spill() }, undefined, { checkpointEvery: 10, onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))) });
      expect(spilled.spilledChunks).toBeGreaterThanOrEqual(4);
      expect(spilled.sweeps).toBe(memory.sweeps);
      expect(maxRelDiff(Float64Array.from(spilled.history, (h) => h.validationRmse), Float64Array.from(memory.history, (h) => h.validationRmse))).toBeLessThan(1e-9);
      expect(maxRelDiff(spilled.model.bias!, memory.model.bias!)).toBeLessThan(1e-9);
      const pm = memory.predict(p.test.rows, p.test.cols);
      expect(maxRelDiff(spilled.predict(p.test.rows, p.test.cols), pm)).toBeLessThan(1e-9);
      const bytes = (x: Float64Array): string => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
      const same = (r: CompletionResult, what: string): void => {
        expect(r.history.map((h) => h.validationRmse), what).toEqual(spilled.history.map((h) => h.validationRmse));
        expect(bytes(r.model.bias!), what).toBe(bytes(spilled.model.bias!));
        expect(bytes(r.predict(p.test.rows, p.test.cols)), what).toBe(bytes(spilled.predict(p.test.rows, p.test.cols)));
        r.release();
      };
      for (const workers of [1, 2]) same(await completeAsync(p.train, { ...o, ...spill(), workers }), `spilled, ${workers} workers`);
      expect(states.map((s) => s.sweepsDone)).toEqual([10, 20]);
      same(complete(p.train, { ...o, ...spill() }, undefined, { resume: states[0]! }), 'spilled, resumed after 10');
      spilled.release();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
