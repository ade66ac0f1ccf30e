// The dense kernel against the low-rank one on the same problems: sweeps, seconds a sweep, the test
// error on unobserved entries, and the resident memory after each run; exact low-rank and noisy data.
// `npm run bench -- compare-kernels [--sizes 1000,2000] [--rank-k 20] [--noise 0.1] [--max-sweeps 300] [--workers 2] [--low-rank-only]`
// (--low-rank-only: the low-rank form alone, exact data, for sizes the dense one cannot take; with
// --max-sweeps 3 it measures seconds a sweep against d).

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeAsync, writeFileAtomic } from '../pipeline/index.ts';
import { generateLowRank, sampleUnobserved, truthError, type SyntheticProblem } from '../engine/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

function testError(p: SyntheticProblem, predict: (r: Int32Array, c: Int32Array) => Float64Array): number {
  const { rows, cols } = sampleUnobserved(p.train, 100_000, 7);
  return truthError(p, predict, rows, cols).relError;
}

interface Row {
  d: number; n: number; observed: number; noise: number; kernel: string; sweeps: number; stop: string;
  secondsPerSweep: number; seconds: number; testRelError: number; rssBytes: number;
  /** The median of the sweeps' own seconds (setup and the first sweep's longer subspace start aside). */
  medianSweepSeconds: number;
}

const median = (x: number[]): number => { const s = [...x].sort((a, b) => a - b); return s.length === 0 ? Number.NaN : s[(s.length - 1) >> 1]!; };

export async function run(args: string[]): Promise<void> {
  let sizes = [1000, 2000];
  let k = 20;
  let noise = 0.1;
  let maxSweeps = 300;
  let lowRankOnly = false;
  let workers = 2;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--sizes') sizes = args[++i]!.split(',').map(Number);
    else if (args[i] === '--rank-k') k = Number(args[++i]);
    else if (args[i] === '--noise') noise = Number(args[++i]);
    else if (args[i] === '--max-sweeps') maxSweeps = Number(args[++i]);
    else if (args[i] === '--low-rank-only') lowRankOnly = true;
    else if (args[i] === '--workers') workers = Number(args[++i]);
    else throw new Error(`compare-kernels: unknown flag ${args[i]}`);
  }
  const rows: Row[] = [];
  for (const d of sizes) {
    for (const sigma of lowRankOnly ? [0] : [0, noise]) {
      // n = 10 d rows, 50 observed a row, rank 10
      const n = 10 * d;
      const p = generateLowRank({ rows: n, cols: d, rank: 10, observed: 50 * n, seed: 1, noise: sigma });
      const base = { d, n, observed: 50 * n, noise: sigma };
      if (!lowRankOnly) {
        const t0 = performance.now();
        const dense = await completeAsync(p.train, { seed: 1, maxSweeps, workers });
        const ds = (performance.now() - t0) / 1000;
        rows.push({ ...base, kernel: 'dense', sweeps: dense.sweeps, stop: dense.stopReason, secondsPerSweep: ds / dense.sweeps, seconds: ds,
          testRelError: testError(p, (r, c) => dense.predict(r, c)), rssBytes: process.memoryUsage().rss, medianSweepSeconds: median(dense.history.map((h) => h.seconds)) });
      }
      const t1 = performance.now();
      const low = await completeAsync(p.train, { seed: 1, maxSweeps, workers, kernel: 'low-rank', kernelRank: k });
      const ls = (performance.now() - t1) / 1000;
      rows.push({ ...base, kernel: `low-rank k=${k} (${workers} workers)`, sweeps: low.sweeps, stop: low.stopReason, secondsPerSweep: ls / low.sweeps, seconds: ls,
        testRelError: testError(p, (r, c) => low.predict(r, c)), rssBytes: process.memoryUsage().rss, medianSweepSeconds: median(low.history.map((h) => h.seconds)) });
      for (const r of rows.slice(lowRankOnly ? -1 : -2)) {
        process.stdout.write(`d=${r.d} n=${r.n} noise=${r.noise} ${r.kernel}: ${r.sweeps} sweeps (${r.stop}), ${r.secondsPerSweep.toFixed(2)} s a sweep (median ${r.medianSweepSeconds.toFixed(2)}), `
          + `${r.seconds.toFixed(1)} s, test rel. error ${r.testRelError.toExponential(2)}, rss ${(r.rssBytes / 1e9).toFixed(2)} GB\n`);
      }
    }
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  await writeFileAtomic(join(here, 'results', lowRankOnly ? 'compare-kernels-low-rank.json' : 'compare-kernels.json'), JSON.stringify({ k, rows }, null, 2) + '\n');
}
