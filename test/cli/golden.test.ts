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

// Recorded before the code moved into engine/, cli/ and paper/ (commit c942f48's outputs); predictions,
// top-k lists and the demo's numbers recorded again when the final ridge search became the default.
const GOLDEN = {
  csv: {
    predictions: '1a6b0f25d2ac692294884a164ea077094c8905c597d4d0e07ab6773c4ad601e5',
    topk: '830b93948695aa1171b2f60a4dcc69c97a3bc914875671a4375908b4f1a628e8',
    kernel: 'b850833266022eefe80330a867b8b1616b0290844096fcf08fec04c16bc4f1c3',
  },
  parquet: {
    predictions: '689b9009985ab1d8366be4e9820a2bdee71403c278c6fb869510e74237f05651',
    topk: '9a30979800307adbe194e7fc8dd4f2e1bb1f704275500b7d125f7f55ffb9be00',
    kernel: '82b48b1a91a863c23c24347e5afaae6af91e45bbf1232622fc3bde00d0fd4e5e',
  },
  demo: { sweeps: 43, numbers: '04f808c281d6ea3e10aae5f840369df83e922b2215b5e881a5505271c77285d0' },
};
