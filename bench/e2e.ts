// End to end from Parquet, through the real command line: a ratings-style file (user, item, rating)
// of a synthetic low-rank matrix goes through `lin-rfm complete`, and the predictions for sampled
// missing entries are scored against the truth. Prints wall time, sweeps, peak RSS and the error.
//
//   npm run bench -- e2e                       200,000 x 2,000, rank 10, 8,000,000 observed
//   npm run bench -- e2e --rows 20000 --cols 500 --observed 500000 --rank 5
//   npm run bench -- e2e --memory-budget 1.3G  a budget under the in-memory estimate: the run spills
//   npm run bench -- e2e --spill always --spill-chunk 500000

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTripletsParquet, writeFileAtomic, writeTableParquetAtomic } from '../pipeline/index.ts';
import { generateLowRank, sampleUnobserved } from '../engine/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The executable the benches run, as a user would. */
export const BIN = resolve(here, '../bin/lin-rfm.mjs');

/** The e2e job's data: a rows x cols matrix of this rank, `observed` entries, `truth` missing ones scored; files in `work`. */
export interface DataSpec {
  rows: number;
  cols: number;
  rank: number;
  observed: number;
  truth: number;
  seed: number;
  work: string;
}

interface Spec extends DataSpec {
  workers: number | null;
  tol: number;
  budget: string | null;
  spill: string | null;
  spillChunk: number | null;
}

function parse(args: string[]): Spec {
  const s: Spec = { rows: 200_000, cols: 2_000, rank: 10, observed: 8_000_000, truth: 200_000, seed: 4, workers: null, tol: 1e-5, budget: null, spill: null, spillChunk: null, work: join(here, 'work', 'e2e') };
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    switch (args[i]) {
      case '--rows': s.rows = Number(v); break;
      case '--cols': s.cols = Number(v); break;
      case '--rank': s.rank = Number(v); break;
      case '--observed': s.observed = Number(v); break;
      case '--truth': s.truth = Number(v); break;
      case '--seed': s.seed = Number(v); break;
      case '--workers': s.workers = Number(v); break;
      case '--tol': s.tol = Number(v); break;
      case '--memory-budget': s.budget = v!; break;
      case '--spill': s.spill = v!; break;
      case '--spill-chunk': s.spillChunk = Number(v); break;
      case '--work': s.work = resolve(v!); break;
      default: throw new Error(`e2e: unknown flag ${args[i]}`);
    }
    i++;
  }
  return s;
}

/** Runs the CLI, relaying its JSON progress as a short line every few sweeps. */
export function runCli(args: string[]): Promise<{ code: number; seconds: number; lastError: string }> {
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    let lastError = '';
    child.stderr.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) {
          lastError = line;
          continue;
        }
        const ev = JSON.parse(line) as { event: string; sweep?: number; validationRmse?: number; msg?: string };
        const at = ((performance.now() - t0) / 1000).toFixed(0);
        if (ev.event === 'sweep' && ev.sweep! % 5 === 0) process.stderr.write(`  [${at} s] sweep ${ev.sweep! + 1}: validation RMSE ${ev.validationRmse!.toExponential(3)}\n`);
        else if (ev.event === 'info' || ev.event === 'memory' || ev.event === 'loaded') process.stderr.write(`  [${at} s] ${ev.msg ?? JSON.stringify(ev)}\n`);
      }
    });
    child.on('error', fail);
    child.on('exit', (code) => done({ code: code ?? -1, seconds: (performance.now() - t0) / 1000, lastError }));
  });
}

/** The e2e job's input: the ratings file, the pairs to predict and their truth. */
export interface E2eData {
  ratings: string;
  pairsPath: string;
  pairs: { rows: Int32Array; cols: Int32Array };
  truth: Float64Array;
}

/** Writes the e2e job's ratings (user, item, rating) and pairs (user, item) as Parquet into s.work. */
export async function e2eData(s: DataSpec): Promise<E2eData> {
  mkdirSync(s.work, { recursive: true });
  const t0 = performance.now();
  const p = generateLowRank({ rows: s.rows, cols: s.cols, rank: s.rank, observed: s.observed, seed: s.seed });
  const t = p.train;
  const user = new Int32Array(s.observed);
  const item = new Int32Array(s.observed);
  for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) {
    user[q] = i;
    item[q] = t.colIdx[q]!;
  }
  const ratings = join(s.work, 'ratings.parquet');
  await writeTableParquetAtomic(ratings, [{ name: 'user', values: user }, { name: 'item', values: item }, { name: 'rating', values: t.values }]);
  const pairs = sampleUnobserved(t, s.truth, s.seed + 1);
  const pairsPath = join(s.work, 'pairs.parquet');
  await writeTableParquetAtomic(pairsPath, [{ name: 'user', values: pairs.rows }, { name: 'item', values: pairs.cols }]);
  const truth = Float64Array.from(pairs.rows, (i, e) => p.truth(i, pairs.cols[e]!));
  const genSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(`wrote ${s.rows} x ${s.cols}, rank ${s.rank}, ${s.observed} observed (${(s.rows * s.cols - s.observed).toExponential(3)} missing) to ${ratings} in ${genSeconds.toFixed(1)} s\n`);
  return { ratings, pairsPath, pairs, truth };
}

export async function run(args: string[]): Promise<void> {
  const s = parse(args);
  const { ratings, pairsPath, pairs, truth } = await e2eData(s);

  const out = join(s.work, 'out');
  rmSync(out, { recursive: true, force: true });
  const cli = ['complete', '--input', ratings, '--predict', pairsPath, '--output', out, '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating', '--tol', String(s.tol), '--seed', String(s.seed)];
  if (s.workers !== null) cli.push('--workers', String(s.workers));
  if (s.budget !== null) cli.push('--memory-budget', s.budget);
  if (s.spill !== null) cli.push('--spill', s.spill);
  if (s.spillChunk !== null) cli.push('--spill-chunk', String(s.spillChunk));
  process.stdout.write(`lin-rfm ${cli.join(' ')}\n`);
  const r = await runCli(cli);
  if (r.code !== 0) {
    process.stdout.write(`lin-rfm exited ${r.code}: ${r.lastError}\n`);
    process.exitCode = 1;
    return;
  }
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Record<string, unknown>;
  const pred = await readTripletsParquet(join(out, 'predictions.parquet'), { rowKey: 'user', colKey: 'item', valueKey: 'prediction' });
  let num = 0;
  let den = 0;
  for (let e = 0; e < pred.nnz; e++) {
    // predictions come back in the order of the pairs file
    const i = Number(pred.rowKeys.key(pred.rows[e]!));
    const j = Number(pred.colKeys.key(pred.cols[e]!));
    if (i !== pairs.rows[e] || j !== pairs.cols[e]) throw new Error(`e2e: prediction ${e} is for (${i}, ${j}), expected (${pairs.rows[e]}, ${pairs.cols[e]})`);
    num += (pred.values[e]! - truth[e]!) ** 2;
    den += truth[e]! ** 2;
  }
  const rel = Math.sqrt(num / den);
  const result = {
    bench: 'e2e',
    node: process.version,
    spec: { ...s, work: undefined },
    missing: s.rows * s.cols - s.observed,
    wallSeconds: r.seconds,
    jobSeconds: report['totalSeconds'],
    sweepSeconds: report['seconds'],
    sweeps: report['sweeps'],
    stopReason: report['stopReason'],
    relativeTestError: rel,
    testEntries: pred.nnz,
    peakRssBytes: report['peakRssBytes'],
    memory: report['memory'],
    workers: report['workers'],
  };
  const spilled = (report['memory'] as { spilledChunks?: number }).spilledChunks ?? 0;
  const name = s.budget === null && s.spill === null ? 'e2e' : spilled > 0 ? 'e2e-spill' : 'e2e-budget';
  mkdirSync(join(here, 'results'), { recursive: true });
  await writeFileAtomic(join(here, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(
    `${s.rows} x ${s.cols}, rank ${s.rank}, ${s.observed} observed, from Parquet: ${String(report['sweeps'])} sweeps (${String(report['stopReason'])}), ` +
      `wall ${r.seconds.toFixed(0)} s (sweeps ${(report['seconds'] as number).toFixed(0)} s), relative test error ${rel.toExponential(3)} on ${pred.nnz} missing entries, ` +
      `peak RSS ${((report['peakRssBytes'] as number) / 1e9).toFixed(2)} GB${spilled > 0 ? `, spilled in ${spilled} chunks` : ''}\nwrote ${join(here, 'results', `${name}.json`)}\n`,
  );
}
