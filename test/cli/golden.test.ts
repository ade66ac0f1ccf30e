// Golden outputs: the bytes of a CSV job, a Parquet job with --center bias and a small demo, recorded
// as SHA-256 digests, so that moving code cannot change a result unnoticed. LINRFM_FMA=0 makes the
// bits independent of the CPU (the plain WASM build gives the TypeScript kernels' bits).

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTableParquetAtomic } from '../../io/parquet-write.ts';
import { cleanEnv, runCli } from './helpers.ts';

const env = cleanEnv({ LINRFM_FMA: '0' });

function run(cwd: string, args: string[]): void {
  const r = runCli(cwd, args, env);
  if (r.status !== 0) throw new Error(`lin-rfm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-golden-'));
  run(dir, ['generate', '--rows', '600', '--cols', '150', '--rank', '4', '--observed', '20000', '--seed', '3', '--noise', '0.01',
    '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '2000']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('golden outputs (LINRFM_FMA=0)', () => {
  it('a CSV job: predictions, top-k and kernel', () => {
    run(dir, ['complete', '--input', 'train.csv', '--predict', 'truth.csv', '--top-k', '5', '--output', 'csv', '--workers', '2', '--quiet']);
    expect({
      predictions: sha(join(dir, 'csv/predictions.csv')),
      topk: sha(join(dir, 'csv/topk.csv')),
      kernel: sha(join(dir, 'csv/model/kernel.arrow')),
    }).toEqual(GOLDEN.csv);
  });

  it('a Parquet job with string keys and --center bias: predictions, top-k and kernel', async () => {
    // user and item biases on top of the low-rank values, keys as text
    const lines = readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n').slice(1);
    const users: string[] = [];
    const items: string[] = [];
    const ratings = new Float64Array(lines.length);
    lines.forEach((line, e) => {
      const [i, j, v] = line.split(',').map(Number) as [number, number, number];
      users.push(`u${i}`);
      items.push(`item-${j}`);
      ratings[e] = 3 + v + 0.01 * (i % 7) - 0.02 * (j % 5);
    });
    await writeTableParquetAtomic(join(dir, 'ratings.parquet'), [
      { name: 'user', values: users }, { name: 'item', values: items }, { name: 'rating', values: ratings },
    ]);
    const pairs = readFileSync(join(dir, 'truth.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    await writeTableParquetAtomic(join(dir, 'pairs.parquet'), [
      { name: 'user', values: pairs.map((p) => `u${p[0]}`) }, { name: 'item', values: pairs.map((p) => `item-${p[1]}`) },
    ]);
    run(dir, ['complete', '--input', 'ratings.parquet', '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating',
      '--center', 'bias', '--predict', 'pairs.parquet', '--top-k', '5', '--output', 'pq', '--workers', '2', '--quiet']);
    expect({
      predictions: sha(join(dir, 'pq/predictions.parquet')),
      topk: sha(join(dir, 'pq/topk.parquet')),
      kernel: sha(join(dir, 'pq/model/kernel.arrow')),
    }).toEqual(GOLDEN.parquet);
  });

  it('the demo: its sweeps and errors', () => {
    run(dir, ['demo', '--rows', '300', '--cols', '200', '--rank', '3', '--observed', '15000', '--output', 'demo', '--workers', '2', '--quiet']);
    const report = JSON.parse(readFileSync(join(dir, 'demo/report.json'), 'utf8')) as {
      history: { validationRmse: number; lambda: number }[]; test: { relativeError: number };
    };
    const numbers = JSON.stringify([report.history.map((h) => [h.validationRmse, h.lambda]), report.test.relativeError]);
    writeFileSync(join(dir, 'demo/numbers.json'), numbers);
    expect({ sweeps: report.history.length, numbers: sha(join(dir, 'demo/numbers.json')) }).toEqual(GOLDEN.demo);
  });
});

// Recorded before the code moved into engine/, cli/ and paper/ (commit c942f48's outputs).
const GOLDEN = {
  csv: {
    predictions: 'adf3ae37699f1bd61fb0c068a435681be071be590a3f724f512a25c092a9be65',
    topk: '0978412284ec93893f4b741ec905e151852787ac00251ab0ff95018ca7f6997a',
    kernel: 'b850833266022eefe80330a867b8b1616b0290844096fcf08fec04c16bc4f1c3',
  },
  parquet: {
    predictions: '02288811b1a74c4ce3a774ea8f55b4e3e9d6f8e3621911e2e95ce08dff21e6f4',
    topk: '5bfe377eb875ca7b511d06b7f3bdf84173d44265376f4103fadd8596d7f259fa',
    kernel: '82b48b1a91a863c23c24347e5afaae6af91e45bbf1232622fc3bde00d0fd4e5e',
  },
  demo: { sweeps: 43, numbers: 'c420a749d427067f2ef9de0e0e6704fb0e7fe525e14e06b8460de384642aefa9' },
};
