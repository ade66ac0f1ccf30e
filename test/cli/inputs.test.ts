// CSV inputs as data lakes hold them: gzip-compressed (*.csv.gz, decompressed as a stream), tab-
// separated (*.tsv), and any one-character --delimiter: the same entries, so the same predictions,
// as the plain CSV.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

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

  it('a damaged gzip file is an error naming the file', () => {
    const whole = readFileSync(join(dir, 'g.csv.gz'));
    writeFileSync(join(dir, 'cut.csv.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = runCli(dir, ['complete', '--input', 'cut.csv.gz', '--output', 'cut', '--quiet']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cut\.csv\.gz/);
  });
});
