// `--input -`: entries piped in on standard input (plain CSV, gzip CSV or a Parquet file) give the
// bytes of the same file named by path; the report fingerprints the stream, errors name standard
// input, and the copy in the work directory goes when the job ends.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTableParquetAtomic } from '../../io/parquet.ts';
import { cleanEnv, readCsv, runCli } from './helpers.ts';

let dir: string;
let csv: Buffer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-stdin-'));
  const g = runCli(dir, ['generate', '--rows', '80', '--cols', '20', '--rank', '2', '--observed', '900', '--seed', '9', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '100']);
  expect(g.status, g.stderr).toBe(0);
  csv = readFileSync(join(dir, 'g.csv'));
  const rows = readCsv(join(dir, 'g.csv'));
  await writeTableParquetAtomic(join(dir, 'g.parquet'), [
    { name: 'row', values: rows.map((x) => x[0]!) }, { name: 'col', values: rows.map((x) => x[1]!) }, { name: 'value', values: Float64Array.from(rows, (x) => Number(x[2])) },
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const complete = (input: string, out: string, stdin?: Buffer): ReturnType<typeof runCli> =>
  runCli(dir, ['complete', '--input', input, '--output', out, '--predict', 't.csv', '--max-sweeps', '6', '--quiet', '--workers', '1'], cleanEnv(), stdin);
const file = (out: string, name: string): string => readFileSync(join(dir, out, name), 'utf8');

describe('--input - (seed 9)', () => {
  it('a CSV, a gzip CSV and a Parquet file on standard input give the predictions and model of the file itself', () => {
    expect(complete('g.csv', 'byPath').status).toBe(0);
    const cases: Array<[string, Buffer]> = [['plain', csv], ['gzip', gzipSync(csv)], ['parquet', readFileSync(join(dir, 'g.parquet'))]];
    for (const [out, bytes] of cases) {
      const r = complete('-', out, bytes);
      expect(r.status, `${out}: ${r.stderr}`).toBe(0);
      expect(file(out, 'predictions.csv'), out).toBe(file('byPath', 'predictions.csv'));
      expect(readFileSync(join(dir, out, 'model', 'kernel.arrow')).equals(readFileSync(join(dir, 'byPath', 'model', 'kernel.arrow'))), out).toBe(true);
      const report = JSON.parse(file(out, 'report.json')) as { input: { file: string; fingerprint: Array<{ file: string; bytes: number; sha256: string }> } };
      expect(report.input.file).toBe('-');
      expect(report.input.fingerprint).toEqual([{ file: '-', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }]);
      // the copy and its job directory are gone, and so is the spill directory the job made
      expect(existsSync(join(dir, out, 'spill')), out).toBe(false);
    }
  });

  it('predict folds in rows from standard input as from the file', () => {
    const run = (input: string, out: string, stdin?: Buffer): void => {
      const r = runCli(dir, ['predict', '--model', join('byPath', 'model'), '--input', input, '--predict', 't.csv', '--output', out, '--quiet'], cleanEnv(), stdin);
      expect(r.status, r.stderr).toBe(0);
    };
    run('g.csv', 'foldPath');
    run('-', 'foldStdin', csv);
    expect(file('foldStdin', 'predictions.csv')).toBe(file('foldPath', 'predictions.csv'));
  });

  it('empty or malformed standard input: a one-line error naming standard input (exit 65), nothing written, no copy left', () => {
    const empty = complete('-', 'empty', Buffer.alloc(0));
    expect(empty.status).toBe(65);
    expect(empty.stderr.trim()).toMatch(/^lin-rfm: .*standard input: no data/);
    const bad = complete('-', 'bad', Buffer.concat([csv, Buffer.from('r1,c1,not-a-number\n')]));
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain('standard input: line');
    expect(bad.stderr).not.toContain('stdin.csv');
    for (const out of ['empty', 'bad']) {
      const left = existsSync(join(dir, out)) ? readdirSync(join(dir, out)) : [];
      expect(left.filter((f) => f !== '.lock'), out).toEqual([]);
    }
  });
});
