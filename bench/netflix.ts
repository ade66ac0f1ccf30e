// Netflix-shaped completion through the real command line: a seeded ratings-shaped matrix
// (480,189 x 17,770, ~100M entries, power-law users and items, user and item biases, a rank-10
// signal and noise of std 0.5) is written as Parquet part files, `lin-rfm complete` runs on it with
// default settings, and its predictions for a held-out test share are scored against the noise
// floor and against biased ALS of the same rank on the same split (its ridge picked on a
// validation share of the training entries). Prints wall time, sweeps, seconds a sweep, peak RSS and
// the test RMSEs, and both methods' test RMSE by the user's and by the item's training count (where a
// gap between them lies); writes bench/results/netflix.json.
//
//   npm run bench -- netflix                          the full size (generation ~2 min, then the job)
//   npm run bench -- netflix --scale 0.1              a tenth of the rows and entries (same columns)
//   npm run bench -- netflix --als-ridges 0.05 --no-als
//   npm run bench -- netflix --biases 0,0             user and item bias std (default 0.4,0.5)
//   npm run bench -- netflix -- --kernel-rank 30      flags after a second -- go to lin-rfm complete

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTripletsParquet, writeFileAtomic, writeTableParquetAtomic } from '../pipeline/index.ts';
import { fitBiasedAls, generateRatings, predictAls, prepareData, type Csr } from '../engine/index.ts';
import { runCli } from './e2e.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Spec {
  rows: number;
  cols: number;
  observed: number;
  rank: number;
  noise: number;
  seed: number;
  parts: number;
  workers: number;
  alsRidges: number[];
  alsIterations: number;
  als: boolean;
  /** Standard deviations of the user and item biases (engine/ratings.ts's defaults unless --biases). */
  biases: [number, number] | null;
  work: string;
  extra: string[];
}

function parse(args: string[]): Spec {
  const s: Spec = {
    rows: 480_189, cols: 17_770, observed: 100_000_000, rank: 10, noise: 0.5, seed: 7, parts: 8, workers: 2,
    alsRidges: [0.0025, 0.005, 0.01], alsIterations: 10, als: true, biases: null, work: join(here, 'work', 'netflix'), extra: [],
  };
  let scale = 1;
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    switch (args[i]) {
      case '--scale': scale = Number(v); break;
      case '--seed': s.seed = Number(v); break;
      case '--parts': s.parts = Number(v); break;
      case '--workers': s.workers = Number(v); break;
      case '--als-ridges': s.alsRidges = v!.split(',').map(Number); break;
      case '--als-iterations': s.alsIterations = Number(v); break;
      case '--no-als': s.als = false; i--; break;
      case '--biases': {
        const b = v!.split(',').map(Number);
        if (b.length !== 2 || !b.every((x) => x >= 0)) throw new Error('netflix: --biases takes USER,ITEM standard deviations');
        s.biases = [b[0]!, b[1]!];
        break;
      }
      case '--work': s.work = resolve(v!); break;
      case '--': s.extra = args.slice(i + 1); i = args.length; break;
      default: throw new Error(`netflix: unknown flag ${args[i]}`);
    }
    i++;
  }
  if (!(scale > 0 && scale <= 1)) throw new Error('netflix: --scale must be in (0, 1]');
  s.rows = Math.round(s.rows * scale);
  s.observed = Math.round(s.observed * scale);
  return s;
}

const rmseOf = (pred: Float64Array, truth: Float64Array): number => Math.sqrt(pred.reduce((acc, x, e) => acc + (x - truth[e]!) ** 2, 0) / pred.length);

type TestPairs = { rows: Int32Array; cols: Int32Array; values: Float64Array };
interface Bucket { side: 'user' | 'item'; from: number; to: number; pairs: number; linRfm: number; als: number | null }
const EDGES = { user: [0, 20, 50, 100, 200, 500, 1000, Infinity], item: [0, 100, 500, 1000, 2000, 5000, Infinity] };

/** Test RMSE of each method over the pairs whose user (or item) has a training count in [from, to): where a gap between the two lies. */
function buckets(train: Csr, test: TestPairs, lin: Float64Array, als: Float64Array | null): Bucket[] {
  const count = { user: new Int32Array(train.nRows), item: new Int32Array(train.nCols) };
  for (let i = 0; i < train.nRows; i++) count.user[i] = train.rowPtr[i + 1]! - train.rowPtr[i]!;
  for (const j of train.colIdx) count.item[j]!++;
  const out: Bucket[] = [];
  for (const side of ['user', 'item'] as const) {
    const edges = EDGES[side];
    const key = side === 'user' ? test.rows : test.cols;
    for (let b = 0; b + 1 < edges.length; b++) {
      let pairs = 0, sl = 0, sa = 0;
      for (let e = 0; e < key.length; e++) {
        const c = count[side][key[e]!]!;
        if (c < edges[b]! || c >= edges[b + 1]!) continue;
        pairs++;
        sl += (lin[e]! - test.values[e]!) ** 2;
        if (als !== null) sa += (als[e]! - test.values[e]!) ** 2;
      }
      if (pairs > 0) out.push({ side, from: edges[b]!, to: edges[b + 1]!, pairs, linRfm: Math.sqrt(sl / pairs), als: als === null ? null : Math.sqrt(sa / pairs) });
    }
  }
  return out;
}
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** Writes the training entries as `parts` Parquet files of consecutive rows (user, item, rating). */
async function writeParts(train: Csr, dir: string, parts: number): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let part = 0; part < parts; part++) {
    const r0 = Math.floor((part * train.nRows) / parts);
    const r1 = Math.floor(((part + 1) * train.nRows) / parts);
    const p0 = train.rowPtr[r0]!;
    const n = train.rowPtr[r1]! - p0;
    const user = new Int32Array(n);
    for (let i = r0; i < r1; i++) user.fill(i, train.rowPtr[i]! - p0, train.rowPtr[i + 1]! - p0);
    const item = train.colIdx.slice(p0, p0 + n);
    await writeTableParquetAtomic(join(dir, `part-${String(part).padStart(3, '0')}.parquet`), [
      { name: 'user', values: user }, { name: 'item', values: item }, { name: 'rating', values: train.values.slice(p0, p0 + n) },
    ]);
  }
}

/** Biased ALS over a ridge grid: each ridge fitted on the training entries less a validation share, the best by validation RMSE scored on the test pairs. */
function alsBaseline(s: Spec, train: Csr, test: TestPairs) {
  const prep = prepareData(train, 0.05, s.seed);
  const fit: Csr = { ...prep.train, values: prep.train.values.map((v) => v * prep.scale) };
  const valTruth = prep.valValue.map((v) => v * prep.scale);
  const grid: { lambda: number; validationRmse: number; testRmse: number; seconds: number }[] = [];
  const testPred: Float64Array[] = [];
  for (const lambda of s.alsRidges) {
    const t0 = performance.now();
    const model = fitBiasedAls(fit, { rank: s.rank, lambda, iterations: s.alsIterations, seed: s.seed }, (it) => {
      process.stderr.write(`  ALS ridge ${lambda}: iteration ${it}/${s.alsIterations} [${seconds(t0).toFixed(0)} s]\n`);
    });
    testPred.push(predictAls(model, test.rows, test.cols));
    const row = {
      lambda,
      validationRmse: rmseOf(predictAls(model, prep.valRow, prep.valCol), valTruth),
      testRmse: rmseOf(testPred.at(-1)!, test.values),
      seconds: seconds(t0),
    };
    process.stdout.write(`biased ALS rank ${s.rank}, ridge ${lambda}: validation RMSE ${row.validationRmse.toFixed(4)}, test RMSE ${row.testRmse.toFixed(4)} (${row.seconds.toFixed(0)} s)\n`);
    grid.push(row);
  }
  const best = grid.reduce((a, b) => (b.validationRmse < a.validationRmse ? b : a));
  return { rank: s.rank, iterations: s.alsIterations, grid, best, bestAtEdge: best === grid[0] || best === grid.at(-1), bestTest: testPred[grid.indexOf(best)]! };
}

export async function run(args: string[]): Promise<void> {
  const s = parse(args);
  mkdirSync(s.work, { recursive: true });
  const t0 = performance.now();
  const p = generateRatings({
    rows: s.rows, cols: s.cols, observed: s.observed, rank: s.rank, noise: s.noise, seed: s.seed,
    ...(s.biases === null ? {} : { rowBias: s.biases[0], colBias: s.biases[1] }),
  });
  const ratings = join(s.work, 'ratings');
  await writeParts(p.train, ratings, s.parts);
  const pairsPath = join(s.work, 'test-pairs.parquet');
  await writeTableParquetAtomic(pairsPath, [{ name: 'user', values: p.test.rows }, { name: 'item', values: p.test.cols }]);
  const nTrain = p.train.values.length;
  let longest = 0;
  for (let i = 0; i < s.rows; i++) longest = Math.max(longest, p.train.rowPtr[i + 1]! - p.train.rowPtr[i]!);
  process.stdout.write(
    `wrote ${s.rows} x ${s.cols}, ${nTrain} training entries (longest row ${longest}) in ${s.parts} parts and ${p.test.values.length} test pairs ` +
      `in ${seconds(t0).toFixed(0)} s; noise floor ${s.noise}\n`,
  );

  const out = join(s.work, 'out');
  rmSync(out, { recursive: true, force: true });
  const cli = ['complete', '--input', ratings, '--predict', pairsPath, '--output', out, '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating', '--workers', String(s.workers), ...s.extra];
  process.stdout.write(`lin-rfm ${cli.join(' ')}\n`);
  const r = await runCli(cli);
  if (r.code !== 0) {
    process.stdout.write(`lin-rfm exited ${r.code}: ${r.lastError}\n`);
    process.exitCode = 1;
    return;
  }
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Record<string, unknown>;
  const pred = await readTripletsParquet(join(out, 'predictions.parquet'), { rowKey: 'user', colKey: 'item', valueKey: 'prediction' });
  for (let e = 0; e < pred.nnz; e++) {
    const i = Number(pred.rowKeys.key(pred.rows[e]!));
    const j = Number(pred.colKeys.key(pred.cols[e]!));
    if (i !== p.test.rows[e] || j !== p.test.cols[e]) throw new Error(`netflix: prediction ${e} is for (${i}, ${j}), expected (${p.test.rows[e]}, ${p.test.cols[e]})`);
  }
  const testRmse = rmseOf(pred.values, p.test.values);
  const sweeps = report['sweeps'] as number;
  const sweepSeconds = report['seconds'] as number;
  const kernel = report['kernel'] as { form: string; rank?: number };
  process.stdout.write(
    `lin-rfm (${kernel.form}${kernel.rank !== undefined ? ` rank ${kernel.rank}` : ''}): ${sweeps} sweeps (${String(report['stopReason'])}), wall ${r.seconds.toFixed(0)} s ` +
      `(${(sweepSeconds / sweeps).toFixed(1)} s a sweep), peak RSS ${((report['peakRssBytes'] as number) / 1e9).toFixed(2)} GB, ` +
      `test RMSE ${testRmse.toFixed(4)} = ${(testRmse / s.noise).toFixed(3)} x the noise floor\n`,
  );
  const als = s.als ? alsBaseline(s, p.train, p.test) : null;
  if (als !== null) {
    process.stdout.write(
      `biased ALS rank ${s.rank} (ridge ${als.best.lambda} by validation${als.bestAtEdge ? ', at the edge of the grid' : ''}): test RMSE ${als.best.testRmse.toFixed(4)}; ` +
        `lin-rfm / ALS = ${(testRmse / als.best.testRmse).toFixed(3)}\n`,
    );
  }
  const byCount = buckets(p.train, p.test, pred.values, als?.bestTest ?? null);
  for (const b of byCount) {
    process.stdout.write(
      `  ${b.side}s with ${b.from}-${Number.isFinite(b.to) ? b.to - 1 : 'more'} training ratings: ${b.pairs} test pairs, lin-rfm ${b.linRfm.toFixed(4)}` +
        (b.als === null ? '\n' : `, ALS ${b.als.toFixed(4)} (${(b.linRfm / b.als).toFixed(4)})\n`),
    );
  }
  const result = {
    bench: 'netflix',
    date: new Date().toISOString(),
    node: process.version,
    spec: { ...s, work: undefined },
    trainEntries: nTrain,
    testEntries: p.test.values.length,
    longestRow: longest,
    noiseFloor: s.noise,
    linRfm: {
      args: cli.slice(1),
      wallSeconds: r.seconds,
      jobSeconds: report['totalSeconds'],
      sweepSeconds,
      sweeps,
      secondsPerSweep: sweepSeconds / sweeps,
      stopReason: report['stopReason'],
      kernel,
      testRmse,
      overNoiseFloor: testRmse / s.noise,
      peakRssBytes: report['peakRssBytes'],
      memory: report['memory'],
    },
    als: als === null ? null : { ...als, bestTest: undefined },
    testRmseByCount: byCount.map((b) => ({ ...b, to: Number.isFinite(b.to) ? b.to : null })),
  };
  const name = s.rows === 480_189 && s.extra.length === 0 && s.biases === null ? 'netflix' : 'netflix-variant';
  mkdirSync(join(here, 'results'), { recursive: true });
  await writeFileAtomic(join(here, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`wrote ${join(here, 'results', `${name}.json`)}\n`);
}
