// Top-k by fold-in with a saved model: recommend for listed rows and predict --top-k for all rows
// give complete --top-k's lists; --candidates and --include-seen change what may be listed.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-recommend-'));
  const g = runCli(dir, ['generate', '--rows', '90', '--cols', '24', '--rank', '2', '--observed', '900', '--seed', '12', '--out', 'g.csv']);
  expect(g.status, g.stderr).toBe(0);
  const c = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'run', '--top-k', '4', '--max-sweeps', '12', '--quiet']);
  expect(c.status, c.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Entry = { row: string; col: string; score: number; rank: string };
const lists = (path: string): Entry[] => readCsv(join(dir, path)).map(([row, col, score, rank]) => ({ row: row!, col: col!, score: Number(score), rank: rank! }));

function expectSameLists(got: Entry[], want: Entry[]): void {
  expect(got.map((e) => [e.row, e.col, e.rank])).toEqual(want.map((e) => [e.row, e.col, e.rank]));
  got.forEach((e, q) => expect(e.score).toBeCloseTo(want[q]!.score, 9));
}

describe('recommend and predict --top-k (seed 12)', () => {
  const all = (): Entry[] => lists('run/topk.csv');

  it('recommend for listed rows gives complete --top-k\'s lists for them', () => {
    writeFileSync(join(dir, 'rows.csv'), 'row\n5\n61\n0\n');
    const r = runCli(dir, ['recommend', '--model', 'run/model', '--input', 'g.csv', '--rows', 'rows.csv', '--top-k', '4', '--output', 'rec']);
    expect(r.status, r.stderr).toBe(0);
    const want = ['5', '61', '0'].flatMap((row) => all().filter((e) => e.row === row));
    expectSameLists(lists('rec/topk.csv'), want);
    expect(JSON.parse(readFileSync(join(dir, 'rec', 'report.json'), 'utf8')).rows).toBe(3);
  });

  it('predict --top-k without --predict lists every folded-in row as complete does', () => {
    const r = runCli(dir, ['predict', '--model', 'run/model', '--input', 'g.csv', '--top-k', '4', '--output', 'pr', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const byRow = (x: Entry[]): Entry[] => [...x].sort((a, b) => Number(a.row) - Number(b.row) || Number(a.rank) - Number(b.rank));
    expectSameLists(byRow(lists('pr/topk.csv')), byRow(all()));
  });

  it('--candidates restricts the columns; --include-seen lets observed ones in', () => {
    writeFileSync(join(dir, 'one.csv'), 'row\n7\n');
    writeFileSync(join(dir, 'cands.csv'), 'col\n1\n2\n3\n');
    const r = runCli(dir, ['recommend', '--model', 'run/model', '--input', 'g.csv', '--rows', 'one.csv', '--top-k', '3', '--candidates', 'cands.csv', '--include-seen', '--output', 'cand']);
    expect(r.status, r.stderr).toBe(0);
    const got = lists('cand/topk.csv');
    expect(got.map((e) => e.col).sort()).toEqual(['1', '2', '3']);
    const seen = new Set(readCsv(join(dir, 'g.csv')).filter((x) => x[0] === '7').map((x) => x[1]));
    const unseen = runCli(dir, ['recommend', '--model', 'run/model', '--input', 'g.csv', '--rows', 'one.csv', '--top-k', '3', '--candidates', 'cands.csv', '--output', 'cand2']);
    expect(unseen.status, unseen.stderr).toBe(0);
    expect(lists('cand2/topk.csv').map((e) => e.col).sort()).toEqual(['1', '2', '3'].filter((c) => !seen.has(c)));
  });

  it('predict with neither --predict nor --top-k is a usage error (exit 64)', () => {
    expect(runCli(dir, ['predict', '--model', 'run/model', '--input', 'g.csv', '--output', 'none', '--quiet']).status).toBe(64);
  });
});
