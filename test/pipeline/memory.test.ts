// The memory estimate and the budget's parser.

import { describe, expect, it } from 'vitest';
import { estimateMemory, parseBytes } from '../../pipeline/memory.ts';

describe('memory', () => {
  it('parses sizes in bytes, SI and binary units', () => {
    expect(parseBytes('1500000000')).toBe(1.5e9);
    expect(parseBytes('1500M')).toBe(1.5e9);
    expect(parseBytes('4G')).toBe(4e9);
    expect(parseBytes('4gb')).toBe(4e9);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5k')).toBe(1500);
    expect(Number.isNaN(parseBytes('lots'))).toBe(true);
    expect(Number.isNaN(parseBytes('-3G'))).toBe(true);
  });

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
});
