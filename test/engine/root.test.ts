// The kernel power by Newton-Schulz (root 'newton-schulz') against the eigendecomposition path (root 'eig'):
// nextKernelPower on its own, the fallback on indefinite input, and whole completions.

import { describe, expect, it } from 'vitest';
import { dgemm } from '../../kernels/index.ts';
import { Rng } from '../../kernels/random.ts';
import { complete } from '../../pipeline/run.ts';
import { validateEngineOptions, defaultEngineOptions, type EngineOptions } from '../../engine/options.ts';
import { nextKernelPower, powerScratch, ROOT_RESOLUTION } from '../../engine/sweep.ts';
import { generateLowRank } from '../../engine/synthetic.ts';

/** A G like lin-RFM's AGOP: rank 5 with trace ~ d, plus a PSD tail of size ~tail. */
function agopLike(d: number, tail: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const B = Float64Array.from({ length: d * 5 }, () => rng.normal());
  const G = new Float64Array(d * d);
  dgemm(false, true, d, d, 5, 1 / 5, B, 5, 0, B, 5, 0, 0, G, d, 0);
  const T = Float64Array.from({ length: d * d }, () => rng.normal() * Math.sqrt(tail));
  dgemm(false, true, d, d, d, 1 / d, T, d, 0, T, d, 0, 1, G, d, 0);
  return G;
}

function maxAbs(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let q = 0; q < a.length; q++) m = Math.max(m, Math.abs(a[q]! - b[q]!));
  return m;
}

function power(d: number, G: Float64Array, alpha: number, root: EngineOptions['root'], lambda?: number): Float64Array {
  const K = new Float64Array(d * d);
  const o = lambda === undefined ? { root } : { root, lambda };
  expect(nextKernelPower(d, G, alpha, K, powerScratch(d), o)).toBe(0);
  return K;
}

describe('nextKernelPower: Newton-Schulz against the eigendecomposition', () => {
  // The stated bound: every eigenvalue within sqrt(mu) / 2 = ROOT_RESOLUTION lambda / 2 of the
  // exact root's (so every entry too), plus the iteration's own tolerance.
  for (const [d, lambda, tail, seed] of [
    [60, 1e-2, 1e-6, 51],
    [140, 1e-3, 1e-8, 52],
  ] as const) {
    it(`alpha 1/4: within ${ROOT_RESOLUTION / 2} lambda: d ${d}, lambda ${lambda}, tail ${tail}, seed ${seed}`, () => {
      const G = agopLike(d, tail, seed);
      const ns = power(d, G, 0.25, 'newton-schulz', lambda);
      const eig = power(d, G, 0.25, 'eig', lambda);
      const diff = maxAbs(ns, eig);
      expect(diff).toBeLessThanOrEqual((ROOT_RESOLUTION / 2) * lambda * 1.01);
      // the products ran (an eigendecomposition fallback would give the very same bits)
      expect(diff).toBeGreaterThan(0);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) expect(ns[i * d + j]).toBe(ns[j * d + i]);
    });
  }

  it('without lambda it resolves the root to rounding (1e-7 relative): d 50, seed 53', () => {
    const d = 50;
    const G = agopLike(d, 1e-2, 53);
    const ns = power(d, G, 0.25, 'newton-schulz');
    const eig = power(d, G, 0.25, 'eig');
    let big = 0;
    for (const v of eig) big = Math.max(big, Math.abs(v));
    expect(maxAbs(ns, eig) / big).toBeLessThan(1e-7);
  });

  it('alpha 3/4 = R G: within (lambda / 20) ||G||_2 of G^(3/2): d 40, lambda 1e-2, seed 54', () => {
    const d = 40;
    const lambda = 1e-2;
    const G = agopLike(d, 1e-4, 54);
    let fro = 0;
    for (const v of G) fro += v * v;
    const diff = maxAbs(power(d, G, 0.75, 'newton-schulz', lambda), power(d, G, 0.75, 'eig', lambda));
    expect(diff).toBeLessThanOrEqual((ROOT_RESOLUTION / 2) * lambda * Math.sqrt(fro) * 1.01);
  });

  it('an indefinite G (as momentum extrapolation makes) falls back to the eigendecomposition, bit for bit: seed 55', () => {
    const d = 40;
    const G = agopLike(d, 1e-4, 55);
    const H = agopLike(d, 1e-4, 56);
    // G + 0.9 (G - H): negative eigenvalues of order one
    const ext = G.map((v, q) => v + 0.9 * (v - H[q]!));
    expect(Array.from(power(d, ext, 0.25, 'newton-schulz', 1e-2))).toEqual(Array.from(power(d, ext, 0.25, 'eig', 1e-2)));
  });

  it("root 'eig' takes alpha 1/2 through the eigendecomposition too: K = G to 1e-10 relative, seed 57", () => {
    const d = 30;
    const G = agopLike(d, 1e-2, 57);
    const K = power(d, G, 0.5, 'eig');
    let big = 0;
    for (const v of G) big = Math.max(big, Math.abs(v));
    expect(maxAbs(K, G) / big).toBeLessThan(1e-10);
    expect(Array.from(power(d, G, 0.5, 'newton-schulz'))).toEqual(Array.from(G));
  });
});

describe("complete() with alpha 1/4: root 'newton-schulz' against root 'eig'", () => {
  // Momentum 0: an extrapolated G is indefinite and goes to the eigendecomposition either way.
  // Tolerances: per-sweep validation MSE within 2% relative (measured 5.4e-4), final kernels within
  // 5e-3 of the largest entry (measured 4.6e-4); seed 41.
  it('60 x 50, rank 3, 1,500 observed, 8 sweeps, adaptive lambda (seed 41)', () => {
    const p = generateLowRank({ rows: 60, cols: 50, rank: 3, observed: 1500, seed: 41 });
    const base: Partial<EngineOptions> = { alpha: 0.25, maxSweeps: 8, momentum: 0, seed: 41, patience: 100 };
    const ns = complete(p.train, { ...base, root: 'newton-schulz' });
    const eig = complete(p.train, { ...base, root: 'eig' });
    expect(ns.sweeps).toBe(8);
    expect(eig.sweeps).toBe(8);
    for (let t = 0; t < 8; t++) {
      const a = ns.history[t]!.validationRelMse;
      const b = eig.history[t]!.validationRelMse;
      expect(Math.abs(a - b) / b).toBeLessThan(2e-2);
    }
    let big = 0;
    for (const v of eig.model.K) big = Math.max(big, Math.abs(v));
    const diff = maxAbs(ns.model.K, eig.model.K);
    expect(diff / big).toBeLessThan(5e-3);
    expect(diff).toBeGreaterThan(0);
  });

  it('rejects an unknown root', () => {
    expect(() => validateEngineOptions({ ...defaultEngineOptions, root: 'svd' as EngineOptions['root'] })).toThrow(/root/);
  });
});
