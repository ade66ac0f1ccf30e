// The memory estimate.

import { describe, expect, it } from 'vitest';
import { estimateLowRankMemory, estimateMemory, estimateSpilledMemory, estimateStreamedMemory } from '../../pipeline/memory.ts';

describe('memory', () => {
  it('grows as d^2 with the kernel side and linearly with entries and workers', () => {
    const base = estimateMemory(100_000, 2_000, 5_000_000, 2);
    expect(base.parts['kernelMatrices']).toBe(7 * 8 * 2000 * 2000);
    expect(estimateMemory(2_000, 100_000, 5_000_000, 2).bytes).toBe(base.bytes); // orientation-free
    expect(estimateMemory(100_000, 4_000, 5_000_000, 2).parts['kernelMatrices']).toBe(4 * base.parts['kernelMatrices']!);
    expect(estimateMemory(100_000, 2_000, 10_000_000, 2).bytes).toBeGreaterThan(base.bytes + 5_000_000 * 96);
    expect(estimateMemory(100_000, 2_000, 5_000_000, 4).bytes).toBeGreaterThan(base.bytes);
    // within 25% of the measured peak of the scale benchmark (1.48 GB)
    expect(Math.abs(base.bytes - 1.48e9) / 1.48e9).toBeLessThan(0.25);
  });

  it('a spilled load has no per-entry term: a billion entries cost what ten million do, past one chunk', () => {
    const small = estimateStreamedMemory(200_000, 2_000, 10_000_000, 2, 1_000_000);
    const huge = estimateStreamedMemory(200_000, 2_000, 1_000_000_000, 2, 1_000_000);
    expect(huge.bytes).toBe(small.bytes);
    // the in-memory load and the run spilled from memory both grow with the entries
    expect(estimateSpilledMemory(200_000, 2_000, 1_000_000_000, 2, 1_000_000).bytes).toBeGreaterThan(huge.bytes + 60e9);
    expect(estimateMemory(200_000, 2_000, 1_000_000_000, 2).bytes).toBeGreaterThan(huge.bytes + 60e9);
    // more keys and longer rows do cost: per row and per column
    expect(estimateStreamedMemory(2_000_000, 2_000, 10_000_000, 2, 1_000_000).bytes).toBeGreaterThan(small.bytes + 0.5e9);
    // within 15% of the measured peak of the spilled e2e benchmark (0.98 GB, bench/results/e2e-spill.json)
    const e2e = estimateStreamedMemory(200_000, 2_000, 8_000_000, 2, 1_000_000);
    expect(Math.abs(e2e.bytes - 0.98e9) / 0.98e9).toBeLessThan(0.15);
  });

  it('a spilled low-rank run has neither a d x d nor a per-entry term: MovieLens-25M-sized columns in under 3 GB', () => {
    const lr = { k: 40, p: 50 };
    const small = estimateStreamedMemory(1_000_000, 59_047, 10_000_000, 2, 1_000_000, lr);
    const huge = estimateStreamedMemory(1_000_000, 59_047, 1_000_000_000, 2, 1_000_000, lr);
    expect(huge.bytes).toBe(small.bytes);
    expect(huge.parts['kernelMatrices']).toBeUndefined();
    // per row: the two fits' bs (k each) and Z (p), 8 bytes each, and the shape's 12 bytes
    expect(huge.parts['rowFactors']).toBe(1_000_000 * (8 * (2 * 40 + 50) + 12));
    expect(huge.bytes).toBeLessThan(3e9);
    // the dense form spilled needs its d x d matrices; the low-rank form in memory its entries
    expect(estimateStreamedMemory(1_000_000, 59_047, 1_000_000_000, 2, 1_000_000).bytes).toBeGreaterThan(7 * 8 * 59_047 ** 2);
    expect(estimateLowRankMemory(1_000_000, 59_047, 1_000_000_000, 2, 40, 50).bytes).toBeGreaterThan(50e9);
  });
});
