// Spilled runs: the matrix in row-partitioned Arrow IPC chunks, streamed back each sweep, gives the
// in-memory run's bits (kernel, history, predictions), in this thread and on a pool, and cleans up.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readChunk } from '../../io/chunks.ts';
import { transposeCsr } from '../../engine/csr.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';
import type { CompletionResult } from '../../engine/options.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { tableFromIPC } from 'apache-arrow';

const SEED = 23;
const problem = generateLowRank({ rows: 150, cols: 70, rank: 3, observed: 3000, seed: SEED });
// small blocks, so that the chunks below hold a few blocks each
const opts = { seed: SEED, maxSweeps: 25, tol: 0, agop: 'factored' as const, blockFlops: 2e4 };
const pairs = unobservedPairs(problem.train);
const work = mkdtempSync(join(tmpdir(), 'linrfm-spill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function expectSameBits(a: CompletionResult, b: CompletionResult, rows = pairs.rows, cols = pairs.cols): void {
  expect(b.sweeps).toBe(a.sweeps);
  expect(b.bestSweep).toBe(a.bestSweep);
  expect(b.history.map((h) => h.validationRmse)).toEqual(a.history.map((h) => h.validationRmse));
  expect(b.model.lambda).toBe(a.model.lambda);
  expect(Buffer.from(b.model.K.buffer).equals(Buffer.from(a.model.K.buffer))).toBe(true);
  const pa = a.predict(rows, cols);
  const pb = b.predict(rows, cols);
  expect(Buffer.from(pb.buffer).equals(Buffer.from(pa.buffer))).toBe(true);
}

const PROBE = 5;
const probeRows = pairs.rows.subarray(0, 50);
const probeCols = pairs.cols.subarray(0, 50);

describe(`spilled runs (seed ${SEED}, 150 x 70, 3,000 observed)`, () => {
  let memoryProbe: Float64Array = new Float64Array(0);
  const memory = complete(problem.train, opts, (info, probe) => {
    if (info.sweep === PROBE) memoryProbe = probe.predict(probeRows, probeCols);
  });

  it('in this thread: same bits as in memory, over several chunks, and release removes the files', () => {
    const dir = join(work, 'inline');
    const probed: number[] = [];
    const spilled = complete(problem.train, { ...opts, spill: { dir, chunkEntries: 600 } }, (info, probe) => {
      // the probe predicts from the sweep's own kernel, chunk by chunk
      if (info.sweep === PROBE) probed.push(...probe.predict(probeRows, probeCols));
    });
    expect(spilled.spilledChunks).toBeGreaterThanOrEqual(4);
    expect(memory.spilledChunks).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.arrow'));
    expect(files.length).toBe(spilled.spilledChunks);
    // every entry is in exactly one chunk
    let total = 0;
    for (const f of files) {
      const path = join(dir, f);
      const e = readChunk(path, tableFromIPC(readFileSync(path)).numRows);
      expect(Array.from(e.held).every((h) => h === 0 || h === 1)).toBe(true);
      total += e.row.length;
    }
    expect(total).toBe(problem.train.values.length);
    expectSameBits(memory, spilled);
    // the spilled probe solves the rows afresh (the TypeScript solver); in memory it reads the
    // sweep's coefficients (the selected kernels, FMA or not): equal to rounding
    expect(probed.length).toBe(50);
    for (let e = 0; e < 50; e++) expect(Math.abs(probed[e]! - memoryProbe[e]!)).toBeLessThan(1e-9 * (1 + Math.abs(memoryProbe[e]!)));
    spilled.release();
    expect(existsSync(dir)).toBe(false);
  });

  it('on a 2-worker pool: same bits as in memory', async () => {
    const spilled = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(work, 'pool'), chunkEntries: 900 } });
    expect(spilled.spilledChunks).toBeGreaterThanOrEqual(3);
    expectSameBits(memory, spilled);
    spilled.release();
  });

  it('a wide input (kernel on the rows) spilled: same bits, predictions in input coordinates', () => {
    const wide = transposeCsr(problem.train);
    const a = complete(wide, opts);
    const b = complete({ take: () => wide }, { ...opts, spill: { dir: join(work, 'wide'), chunkEntries: 700 } });
    expectSameBits(a, b, pairs.cols, pairs.rows);
    b.release();
  });

  it('one chunk per solve block when chunkEntries is tiny; out-of-range pairs predict NaN; stale chunks go', () => {
    // a chunk left by a killed run, with a number this run does not reach
    mkdirSync(join(work, 'tiny'), { recursive: true });
    writeFileSync(join(work, 'tiny', 'chunk-99999.arrow'), 'stale');
    const b = complete(problem.train, { ...opts, maxSweeps: 3, spill: { dir: join(work, 'tiny'), chunkEntries: 1 } });
    expect(existsSync(join(work, 'tiny', 'chunk-99999.arrow'))).toBe(false);
    const a = complete(problem.train, { ...opts, maxSweeps: 3 });
    expect(b.spilledChunks).toBeGreaterThan(4);
    expectSameBits(a, b);
    const p = b.predict(Int32Array.of(-1, 150, 3), Int32Array.of(0, 0, 70));
    expect(Array.from(p).every(Number.isNaN)).toBe(true);
    b.release();
    expect(existsSync(join(work, 'tiny'))).toBe(false);
  });
});
