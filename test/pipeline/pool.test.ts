// Parallel sweeps: the blocks give the bits of the whole-matrix kernels, and any number of workers gives the same result.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { implementations, type KernelImpl } from '../../kernels/index.ts';
import { Rng } from '../../kernels/random.ts';
import { nnzOf } from '../../engine/csr.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';
import type { CompletionResult, EngineOptions } from '../../engine/options.ts';
import { SweepPool } from '../../pipeline/pool.ts';
import { prepareData } from '../../engine/split.ts';
import { blockContext, disposeBlockContext, gramBlock, runBlock, type SweepArrays } from '../../pipeline/blocks.ts';
import { planSweep, splitByCost, splitTriangle } from '../../pipeline/plan.ts';
import { agopFactored, agopStreamed, columnIndex, maxRowLength, rowScratch, solveRows, yhatRows } from '../../engine/sweep.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { randomSparse, randomSpd, toFlat } from '../engine/reference.ts';

const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const same = (x: Float64Array, y: Float64Array): boolean => x.length === y.length && bytes(x).equals(bytes(y));

function randomMatrix(rng: Rng, len: number): Float64Array {
  const x = new Float64Array(len);
  for (let q = 0; q < len; q++) x[q] = rng.normal();
  return x;
}

// Random cut points of [0, m), not aligned to the kernels' 4-row tiles.
function randomCuts(rng: Rng, m: number, pieces: number): number[] {
  const cuts = new Set<number>([0, m]);
  while (cuts.size < Math.min(m, pieces) + 1) cuts.add(1 + rng.int(m - 1));
  return [...cuts].sort((x, y) => x - y);
}

describe('row blocks of a product give the bits of the whole product', () => {
  for (const impl of ['js', 'wasm'] as KernelImpl[]) {
    it(`${impl} dgemm: any row partition of C, op(A) = A or A^T, alpha != 1, beta 0 and 1 (seed 61)`, () => {
      const { dgemm } = implementations[impl];
      const rng = new Rng(61);
      for (const [m, n, k] of [[150, 150, 150], [67, 300, 530], [130, 9, 257]] as const) {
        for (const transA of [false, true]) {
          for (const beta of [0, 1]) {
            const lda = transA ? m : k;
            const A = randomMatrix(rng, m * k);
            const B = randomMatrix(rng, k * n);
            const C0 = randomMatrix(rng, m * n);
            const full = dgemm(transA, false, m, n, k, 0.7, A, lda, 0, B, n, 0, beta, C0.slice(), n, 0);
            for (let trial = 0; trial < 3; trial++) {
              const cuts = randomCuts(rng, m, 2 + trial * 3);
              const C = C0.slice();
              for (let b = 0; b + 1 < cuts.length; b++) {
                const r0 = cuts[b]!;
                const rows = cuts[b + 1]! - r0;
                dgemm(transA, false, rows, n, k, 0.7, A, lda, transA ? r0 : r0 * k, B, n, 0, beta, C, n, r0 * n);
              }
              expect(same(C, full), `${m}x${n}x${k} transA ${transA} beta ${beta} cuts ${cuts.join(',')}`).toBe(true);
            }
          }
        }
      }
    });
  }
});

describe('the sweep blocks give the bits of the whole-matrix AGOP', () => {
  const rng = new Rng(71);
  const n = 90;
  const d = 37;
  const m = randomSparse(n, d, 0.3, rng);
  const K = toFlat(randomSpd(d, rng, 0.1));
  const lambda = 0.03;
  const a = new Float64Array(nnzOf(m));
  solveRows(d, K, lambda, m, a, 0, n, rowScratch(maxRowLength(m)));

  it('streamed: Yhat rows + Gram row blocks (any super-chunk and triangle split) = dsyrk over the same chunks, exactly symmetric (seed 71)', () => {
    for (const chunkRows of [8, 13, 90]) {
      const ref = agopStreamed(d, K, m, a, chunkRows, new Float64Array(chunkRows * d), new Float64Array(d * d));
      for (const superChunks of [1, 2, 3]) {
        const superRows = Math.min(n, Math.ceil(n / chunkRows / superChunks) * chunkRows);
        for (const blocks of [1, 3, 7]) {
          const G = new Float64Array(d * d).fill(Number.NaN);
          const Y = new Float64Array(superRows * d);
          for (let s0 = 0; s0 < n; s0 += superRows) {
            const s1 = Math.min(n, s0 + superRows);
            yhatRows(d, K, m, a, s0, s1, Y, 0);
            for (const [r0, r1] of splitTriangle(d, blocks)) gramBlock(d, Y, s1 - s0, chunkRows, G, r0, r1, s0 === 0, s1 === n, 1 / n);
          }
          expect(same(G, ref), `chunkRows ${chunkRows}, super ${superRows}, ${blocks} blocks`).toBe(true);
          for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) expect(Object.is(G[i * d + j], G[j * d + i])).toBe(true);
        }
      }
    }
  });

  it('factored: Q, GEMM and symmetrisation row blocks = agopFactored (seed 71)', () => {
    const cols = columnIndex(m);
    const ref = agopFactored(d, K, lambda, m, a, cols, new Float64Array(d * d), new Float64Array(d * d), new Float64Array(d * d));
    const Kl = K.slice();
    for (let j = 0; j < d; j++) Kl[j * d + j] += lambda;
    const arrays: SweepArrays = {
      d, train: m, a, valRow: new Int32Array(0), valCol: new Int32Array(0), valValue: new Float64Array(0), cols,
      mats: [Kl, new Float64Array(d * d), new Float64Array(0), new Float64Array(d * d), new Float64Array(d * d)],
      ybuf: new Float64Array(0), maxRow: maxRowLength(m), lr: null,
    };
    const ctx = blockContext(arrays);
    const cuts = [0, 5, 6, 19, 33, 37];
    const ranges = cuts.slice(1).map((r1, b) => [cuts[b]!, r1] as const);
    for (const [r0, r1] of ranges) runBlock(ctx, { kind: 'q', Q: 3, r0, r1, zero: true });
    for (const [r0, r1] of ranges) runBlock(ctx, { kind: 'gemm', A: 3, B: 0, C: 4, r0, r1, alpha: 1, bKey: 1 });
    for (const [r0, r1] of ranges) runBlock(ctx, { kind: 'gemm', A: 0, B: 4, C: 1, r0, r1, alpha: 1 / n, bKey: 2 });
    for (const [r0, r1] of splitTriangle(d, 3)) runBlock(ctx, { kind: 'symm', G: 1, r0, r1 });
    disposeBlockContext(ctx);
    expect(same(arrays.mats[1]!, ref)).toBe(true);
  });

  it('splitByCost and splitTriangle cut [0, count) into contiguous, non-empty ranges', () => {
    for (const count of [1, 5, 64, 1000]) {
      for (const parts of [1, 3, 10, 300]) {
        for (const r of [splitByCost(count, (i) => 1 + (i % 7), count / parts, 256), splitTriangle(count, parts)]) {
          expect(r[0]![0]).toBe(0);
          expect(r.at(-1)![1]).toBe(count);
          for (let b = 0; b < r.length; b++) {
            expect(r[b]![1]).toBeGreaterThan(r[b]![0]);
            if (b > 0) expect(r[b]![0]).toBe(r[b - 1]![1]);
          }
        }
      }
    }
  });
});

describe('completeAsync on a worker pool: the same bits for 1, 2 and 4 workers and complete()', () => {
  let pool: SweepPool;
  beforeAll(() => {
    pool = new SweepPool(4);
  });
  afterAll(async () => {
    await pool.close();
  });

  // Small blocks (blockFlops) so that every phase has several, and workers really interleave.
  const problem = generateLowRank({ rows: 300, cols: 140, rank: 4, observed: 9000, seed: 23 });
  const { rows, cols } = unobservedPairs(problem.train);
  const base: Partial<EngineOptions> = { seed: 2, blockFlops: 1e5, chunkRows: 64, maxSweeps: 10 };

  it('the test problem cuts every phase into several blocks (else the workers would not interleave)', () => {
    const data = prepareData(problem.train, 0.05, 2);
    const m = data.train;
    const streamed = planSweep(m, data.valRow, 'streamed', 64, 1e5, 128);
    const factored = planSweep(m, data.valRow, 'factored', 64, 1e5);
    expect(streamed.fuseYhat).toBe(false);
    expect(planSweep(m, data.valRow, 'streamed', 64, 1e5).fuseYhat).toBe(true);
    for (const count of [streamed.solve.length, streamed.superChunks.length, streamed.superChunks[0]!.rows.length, streamed.gram.length,
      factored.q.length, factored.gemm.length, factored.symm.length]) expect(count).toBeGreaterThan(1);
  });

  function fingerprint(r: CompletionResult): { K: Float64Array; pred: Float64Array; rmse: number[] } {
    return { K: r.model.K, pred: r.predict(rows, cols), rmse: r.history.map((h) => h.validationRmse) };
  }

  const variants = [
    { name: 'streamed AGOP, Yhat rows completed with the solves', agop: 'streamed', superChunkRows: 0 },
    { name: 'streamed AGOP, Yhat in super-chunks of 128 rows', agop: 'streamed', superChunkRows: 128 },
    { name: 'factored AGOP', agop: 'factored', superChunkRows: 0 },
  ] as const;
  for (const { name, agop, superChunkRows } of variants) {
    it(`${name} (seed 23)`, async () => {
      const opts = { ...base, agop, superChunkRows };
      const ref = fingerprint(complete(problem.train, opts));
      const runs = [
        await completeAsync(problem.train, { ...opts, workers: 1 }),
        await completeAsync(problem.train, { ...opts, workers: 1, pool }),
        await completeAsync(problem.train, { ...opts, workers: 2, pool }),
        await completeAsync(problem.train, { ...opts, workers: 4, pool }),
      ];
      for (const [t, r] of runs.entries()) {
        expect(r.history[0]!.agop).toBe(agop);
        expect(r.sweeps).toBe(10);
        const f = fingerprint(r);
        expect(same(f.K, ref.K), `run ${t}: K`).toBe(true);
        expect(same(f.pred, ref.pred), `run ${t}: predictions`).toBe(true);
        expect(f.rmse).toEqual(ref.rmse);
      }
    });
  }

  it('a pool it starts itself is closed at the end; workers must be an integer >= 1', async () => {
    const opts = { ...base, maxSweeps: 3 };
    const ref = complete(problem.train, opts);
    const r = await completeAsync(problem.train, { ...opts, workers: 2 });
    expect(same(r.model.K, ref.model.K)).toBe(true);
    await expect(completeAsync(problem.train, { workers: 0 })).rejects.toThrow(/workers = 0/);
    await expect(completeAsync(problem.train, { workers: 1.5 })).rejects.toThrow(/workers = 1.5/);
  });
});
