// CSV inputs as data lakes hold them: gzip-compressed (*.csv.gz, decompressed as a stream), tab-
// separated (*.tsv), and any one-character --delimiter: the same entries, so the same predictions,
// as the plain CSV.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTableParquetAtomic } from '../../io/parquet.ts';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-inputs-'));
  const g = runCli(dir, ['generate', '--rows', '80', '--cols', '20', '--rank', '2', '--observed', '900', '--seed', '8', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '100']);
  expect(g.status, g.stderr).toBe(0);
  const text = readFileSync(join(dir, 'g.csv'), 'utf8');
  writeFileSync(join(dir, 'g.csv.gz'), gzipSync(text));
  writeFileSync(join(dir, 'g.tsv'), text.replaceAll(',', '\t'));
  writeFileSync(join(dir, 'g.tsv.gz'), gzipSync(text.replaceAll(',', '\t')));
  writeFileSync(join(dir, 'g.txt'), text.replaceAll(',', ';'));
  writeFileSync(join(dir, 't.tsv'), readFileSync(join(dir, 't.csv'), 'utf8').replaceAll(',', '\t'));
  writeFileSync(join(dir, 't.txt'), readFileSync(join(dir, 't.csv'), 'utf8').replaceAll(',', ';'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const predictions = (out: string): string => readFileSync(join(dir, out, 'predictions.csv'), 'utf8');

describe('gzip, TSV and --delimiter inputs (seed 8)', () => {
  it('give the predictions of the plain CSV, byte for byte', () => {
    const run = (input: string, out: string, extra: string[] = [], predict = 't.csv'): void => {
      const r = runCli(dir, ['complete', '--input', input, '--output', out, '--predict', predict, '--max-sweeps', '6', '--quiet', ...extra]);
      expect(r.status, `${input}: ${r.stderr}`).toBe(0);
    };
    run('g.csv', 'plain');
    run('g.csv.gz', 'gz');
    run('g.tsv', 'tsv', [], 't.tsv');
    run('g.tsv.gz', 'tsvgz');
    // --delimiter is every CSV's: the pairs' too
    run('g.txt', 'semicolon', ['--delimiter', ';'], 't.txt');
    const want = predictions('plain');
    for (const out of ['gz', 'tsv', 'tsvgz', 'semicolon']) expect(predictions(out), out).toBe(want);
  });

  it('a Hive-partitioned Parquet directory (nested, with _SUCCESS and dot files) reads as its flat parts do', async () => {
    const rows = readCsv(join(dir, 'g.csv'));
    const half = Math.floor(rows.length / 2);
    const part = async (path: string, from: number, to: number): Promise<void> => {
      const slice = rows.slice(from, to);
      await writeTableParquetAtomic(path, [
        { name: 'row', values: slice.map((x) => x[0]!) }, { name: 'col', values: slice.map((x) => x[1]!) }, { name: 'value', values: Float64Array.from(slice, (x) => Number(x[2])) },
      ]);
    };
    for (const d of ['flat', 'hive/date=2026-12-01', 'hive/date=2026-12-02', 'hive/_temporary']) mkdirSync(join(dir, d), { recursive: true });
    await part(join(dir, 'flat', 'a.parquet'), 0, half);
    await part(join(dir, 'flat', 'b.parquet'), half, rows.length);
    await part(join(dir, 'hive', 'date=2026-12-01', 'part-0.parquet'), 0, half);
    await part(join(dir, 'hive', 'date=2026-12-02', 'part-0.parquet'), half, rows.length);
    // not data: a job's marker, a checksum, an unfinished attempt
    writeFileSync(join(dir, 'hive', '_SUCCESS'), '');
    writeFileSync(join(dir, 'hive', 'date=2026-12-01', '.part-0.parquet.crc'), 'x');
    await part(join(dir, 'hive', '_temporary', 'part-9.parquet'), 0, 10);
    for (const [input, out] of [['flat', 'flat-out'], ['hive', 'hive-out']]) {
      const r = runCli(dir, ['complete', '--input', input!, '--output', out!, '--predict', 't.csv', '--max-sweeps', '6', '--quiet']);
      expect(r.status, `${input}: ${r.stderr}`).toBe(0);
    }
    expect(predictions('hive-out')).toBe(predictions('flat-out'));
    // partition directories that are symlinks are followed, as the fingerprint follows them
    mkdirSync(join(dir, 'linked'));
    for (const day of ['date=2026-12-01', 'date=2026-12-02']) symlinkSync(join(dir, 'hive', day), join(dir, 'linked', day));
    const linked = runCli(dir, ['complete', '--input', 'linked', '--output', 'linked-out', '--predict', 't.csv', '--max-sweeps', '6', '--quiet']);
    expect(linked.status, linked.stderr).toBe(0);
    expect(predictions('linked-out')).toBe(predictions('flat-out'));
    const report = JSON.parse(readFileSync(join(dir, 'hive-out', 'report.json'), 'utf8'));
    expect(report.input.fingerprint.map((f: { file: string }) => f.file.slice(f.file.indexOf('hive')))).toEqual(['hive/date=2026-12-01/part-0.parquet', 'hive/date=2026-12-02/part-0.parquet']);

    // --filter reads the partitions named: the first day's entries only
    const one = runCli(dir, ['complete', '--input', 'hive', '--output', 'day1', '--filter', 'date=2026-12-01', '--max-sweeps', '3', '--quiet']);
    expect(one.status, one.stderr).toBe(0);
    const day1 = JSON.parse(readFileSync(join(dir, 'day1', 'report.json'), 'utf8'));
    expect(day1.input.observed).toBe(half);
    expect(day1.input.fingerprint).toHaveLength(1);
    const both = runCli(dir, ['complete', '--input', 'hive', '--output', 'both', '--filter', 'date=2026-12-01,2026-12-02', '--max-sweeps', '3', '--quiet']);
    expect(both.status, both.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'both', 'report.json'), 'utf8')).input.observed).toBe(rows.length);
    const none = runCli(dir, ['complete', '--input', 'hive', '--output', 'none', '--filter', 'date=1999-01-01', '--quiet']);
    expect(none.status).toBe(66);
    expect(none.stderr).toMatch(/no \*\.parquet files under a date=1999-01-01 directory here \(--filter\)/);
  });

  it('a damaged gzip file is an error naming the file', () => {
    const whole = readFileSync(join(dir, 'g.csv.gz'));
    writeFileSync(join(dir, 'cut.csv.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = runCli(dir, ['complete', '--input', 'cut.csv.gz', '--output', 'cut', '--quiet']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cut\.csv\.gz/);
  });
});
