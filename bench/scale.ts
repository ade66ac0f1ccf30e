// Scaling: seconds per sweep against the kernel side d, and one large completion to the end.
// `npm run bench -- scale [--sizes ...] [--sweeps 3] [--no-full]`; with `--kernel low-rank [--kernel-rank 20]
// [--max-rows 500000]`: the low-rank form at d = 2k to 50k (n = 50 d rows capped at --max-rows), the
// median of the sweeps after the first (which starts the subspace with more power steps).

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeAsync, writeFileAtomic } from '../pipeline/index.ts';
import { generateLowRank, sampleUnobserved, truthError, type SyntheticProblem } from '../engine/index.ts';
import { lineChart } from '../paper/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Relative error on `count` uniformly drawn unobserved entries. */
function sampledError(p: SyntheticProblem, predict: (r: Int32Array, c: Int32Array) => Float64Array, count: number, seed: number): number {
  const { rows, cols } = sampleUnobserved(p.train, count, seed);
  return truthError(p, predict, rows, cols).relError;
}

export async function run(args: string[]): Promise<void> {
  let sizes = [250, 500, 1000, 2000];
  let full = true;
  let sweepsPerSize = 3;
  let lowRank = false;
  let kernelRank = 20;
  let maxRows = 500_000;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--sizes') sizes = args[++i]!.split(',').map(Number);
    else if (args[i] === '--kernel') lowRank = args[++i] === 'low-rank';
    else if (args[i] === '--kernel-rank') kernelRank = Number(args[++i]);
    else if (args[i] === '--max-rows') maxRows = Number(args[++i]);
    else if (args[i] === '--no-full') full = false;
    else if (args[i] === '--sweeps') sweepsPerSize = Number(args[++i]);
    else throw new Error(`scale: unknown flag ${args[i]}`);
  }
  if (lowRank) return runLowRank(args.includes('--sizes') ? sizes : [2000, 5000, 10_000, 20_000, 50_000], Math.max(sweepsPerSize, 4), kernelRank, maxRows);
  // Part 1: seconds per sweep as d grows, with n = 50 d rows and 50 observed entries a row, rank 10.
  const perSize: { d: number; n: number; observed: number; secondsPerSweep: number; agop: string; peakRssBytes: number }[] = [];
  for (const d of sizes) {
    const n = 50 * d;
    const observed = 50 * n;
    const p = generateLowRank({ rows: n, cols: d, rank: 10, observed, seed: 1 });
    const res = await completeAsync(p.train, { seed: 1, maxSweeps: sweepsPerSize });
    const secs = res.history.map((h) => h.seconds).sort((a, b) => a - b);
    const median = secs[Math.floor(secs.length / 2)]!;
    perSize.push({ d, n, observed, secondsPerSweep: median, agop: res.history[0]!.agop, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    process.stdout.write(`d = ${d}: ${n} x ${d}, ${observed} observed: ${median.toFixed(3)} s a sweep (${res.history[0]!.agop} AGOP)\n`);
  }

  // Part 2: 100,000 x 2,000, rank 10, 5,000,000 observed (195 million missing), to the end.
  let big: Record<string, unknown> | null = null;
  if (full) {
    const t0 = performance.now();
    const p = generateLowRank({ rows: 100_000, cols: 2_000, rank: 10, observed: 5_000_000, seed: 2 });
    const genSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    // the bar is a relative test error < 1e-2: stop at a relative validation MSE of 1e-5
    // (validation runs ~10x below the test error on exact low-rank data)
    const res = await completeAsync(p.train, { seed: 2, tol: 1e-5 }, (info) => {
      if (info.sweep % 5 === 0) {
        process.stderr.write(`  sweep ${info.sweep + 1}: validation RMSE ${info.validationRmse.toExponential(3)}, elapsed ${((performance.now() - t1) / 1000).toFixed(0)} s\n`);
      }
    });
    const seconds = (performance.now() - t1) / 1000;
    const rel = sampledError(p, (r, c) => res.predict(r, c), 200_000, 3);
    big = {
      rows: 100_000,
      cols: 2_000,
      rank: 10,
      observed: 5_000_000,
      generateSeconds: genSeconds,
      seconds,
      sweeps: res.sweeps,
      stopReason: res.stopReason,
      relativeTestError: rel,
      testEntries: 200_000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    process.stdout.write(
      `100,000 x 2,000, rank 10, 5,000,000 observed: ${res.sweeps} sweeps (${res.stopReason}), ${seconds.toFixed(0)} s, ` +
        `relative test error ${rel.toExponential(3)} on 200,000 unobserved entries, peak RSS ${((big['peakRssBytes'] as number) / 1e9).toFixed(2)} GB\n`,
    );
  }
  const results = join(here, 'results');
  mkdirSync(results, { recursive: true });
  await writeFileAtomic(join(results, 'scale.json'), JSON.stringify({ bench: 'scale', node: process.version, perSize, big }, null, 2) + '\n');
  const svg = lineChart(
    [{ label: 'seconds per sweep', color: '#1f77b4', points: perSize.map((s) => [s.d, s.secondsPerSweep]) }],
    { title: 'lin-rfm: seconds per sweep, n = 50 d rows, 50 observed per row', xLabel: 'kernel side d', yLabel: 'seconds per sweep', logX: true, logY: true },
  );
  await writeFileAtomic(join(results, 'scale.svg'), svg);
  process.stdout.write(`wrote ${join(results, 'scale.json')} and scale.svg\n`);
}

/** Seconds a sweep of the low-rank form against d, 2 workers; n = 50 d rows capped at maxRows, 50 observed a row. */
async function runLowRank(sizes: number[], sweeps: number, k: number, maxRows: number): Promise<void> {
  const perSize: Array<Record<string, number | string>> = [];
  for (const d of sizes) {
    const n = Math.min(50 * d, maxRows);
    const observed = 50 * n;
    const p = generateLowRank({ rows: n, cols: d, rank: 10, observed, seed: 1 });
    const res = await completeAsync(p.train, { seed: 1, maxSweeps: sweeps, workers: 2, kernel: 'low-rank', kernelRank: k });
    const later = res.history.slice(1);
    const secs = later.map((h) => h.seconds).sort((a, b) => a - b);
    const median = secs[(secs.length - 1) >> 1]!;
    const solve = later.map((h) => h.solveSeconds).sort((a, b) => a - b)[(later.length - 1) >> 1]!;
    const rss = process.resourceUsage().maxRSS * 1024;
    perSize.push({ d, n, observed, k, secondsPerSweep: median, solveSeconds: solve, firstSweepSeconds: res.history[0]!.seconds, peakRssBytes: rss });
    process.stdout.write(`d = ${d}: ${n} x ${d}, ${observed} observed, k = ${k}: ${median.toFixed(2)} s a sweep (median of sweeps 2-${sweeps}; row solves ${solve.toFixed(2)} s), `
      + `first sweep ${res.history[0]!.seconds.toFixed(2)} s, peak RSS ${(rss / 1e9).toFixed(2)} GB\n`);
  }
  const results = join(here, 'results');
  mkdirSync(results, { recursive: true });
  await writeFileAtomic(join(results, 'scale-low-rank.json'), JSON.stringify({ bench: 'scale --kernel low-rank', node: process.version, workers: 2, perSize }, null, 2) + '\n');
  const svg = lineChart(
    [{ label: 'seconds per sweep', color: '#d62728', points: perSize.map((s) => [s.d as number, s.secondsPerSweep as number]) }],
    { title: `lin-rfm low-rank kernel (k = ${k}): seconds per sweep, 50 observed per row`, xLabel: 'kernel side d', yLabel: 'seconds per sweep', logX: true, logY: true },
  );
  await writeFileAtomic(join(results, 'scale-low-rank.svg'), svg);
  process.stdout.write(`wrote ${join(results, 'scale-low-rank.json')} and scale-low-rank.svg\n`);
}
