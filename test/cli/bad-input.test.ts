// Bad input and faults, one table: for each, the exit code, a one-line message that names the file
// and the place, and an output folder that still holds the previous complete set of outputs (nothing
// of the failed run, no lock, no staging). The cases that are not errors (pairs with unknown keys)
// publish a complete new set instead.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { vectorFromArray, Float64, Int32, Utf8 } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialSchedule } from '../../engine/schedule.ts';
import { encodeCheckpoint } from '../../io/checkpoint-file.ts';
import { writeTableParquetAtomic } from '../../io/parquet-write.ts';
import { writeHyparquet, writeParquetWasm } from '../io/parquet-fixtures.ts';
import { runCli } from './helpers.ts';
import { snapshot } from './snapshot.ts';

let base: string;

interface Case {
  name: string;
  /** Writes the case's files into its directory (the shared g.csv, t.csv, g.parquet are one level up). */
  setup?: (dir: string) => void | Promise<void>;
  /** The command line; OUT is the output folder, which holds the previous set before the run. */
  args: string[];
  code: number;
  /** The one-line message (after "lin-rfm: "): it names the file and the place. */
  message?: RegExp;
}

const csv = (dir: string, name: string, text: string): void => writeFileSync(join(dir, name), text);
const complete = (input: string, ...more: string[]): string[] => ['complete', '--input', input, '--output', 'OUT', '--quiet', '--max-sweeps', '3', ...more];

const cases: Case[] = [
  // the input: files
  { name: 'missing input', args: complete('nothere.csv'), code: 66, message: /^nothere\.csv: no such file/ },
  { name: 'empty file', setup: (d) => csv(d, 'e.csv', ''), args: complete('e.csv'), code: 65, message: /^e\.csv: line 1: empty file/ },
  { name: 'header only', setup: (d) => csv(d, 'h.csv', 'row,col,value\n'), args: complete('h.csv'), code: 65, message: /^h\.csv: line 2: no observed entries/ },
  { name: 'no value column', setup: (d) => csv(d, 'n.csv', 'row,col\n1,2\n'), args: complete('n.csv'), code: 65, message: /^n\.csv: line 1, column "value": header has no column "value"/ },
  { name: 'other column names', setup: (d) => csv(d, 'u.csv', 'user,item,rating\n1,2,3\n'), args: complete('u.csv'), code: 65, message: /^u\.csv: line 1, column "row"/ },
  { name: 'non-numeric value', setup: (d) => csv(d, 'a.csv', 'row,col,value\n1,2,3\n1,3,abc\n'), args: complete('a.csv'), code: 65, message: /^a\.csv: line 3, column "value": not a finite number: "abc"/ },
  { name: 'NaN value', setup: (d) => csv(d, 'nan.csv', 'row,col,value\n1,2,NaN\n'), args: complete('nan.csv'), code: 65, message: /^nan\.csv: line 2, column "value": not a finite number/ },
  { name: 'infinite value', setup: (d) => csv(d, 'inf.csv', 'row,col,value\n1,2,-Infinity\n'), args: complete('inf.csv'), code: 65, message: /^inf\.csv: line 2, column "value": not a finite number/ },
  { name: 'value beyond float64', setup: (d) => csv(d, 'big.csv', 'row,col,value\n1,2,1e400\n'), args: complete('big.csv'), code: 65, message: /^big\.csv: line 2, column "value": not a finite number: "1e400"/ },
  { name: 'empty row key', setup: (d) => csv(d, 'k.csv', 'row,col,value\n1,2,3\n,2,1\n'), args: complete('k.csv'), code: 65, message: /^k\.csv: line 3, column "row": empty key/ },
  { name: 'empty column key', setup: (d) => csv(d, 'k2.csv', 'row,col,value\n1,,1\n'), args: complete('k2.csv'), code: 65, message: /^k2\.csv: line 2, column "col": empty key/ },
  { name: 'ragged line', setup: (d) => csv(d, 'r.csv', 'row,col,value\n1,2,3\n1,2\n'), args: complete('r.csv'), code: 65, message: /^r\.csv: line 3: expected 3 fields like the header, found 2/ },
  { name: 'duplicate pair', setup: (d) => csv(d, 'd.csv', 'row,col,value\n1,2,3\n1,3,3\n1,2,4\n'), args: complete('d.csv'), code: 65, message: /^d\.csv: line 4: duplicate pair \(row "1", col "2"\), first seen at line 2/ },
  { name: 'gzip of binary data given as CSV', setup: (d) => writeFileSync(join(d, 'z.csv'), gzipSync(Buffer.from([0x72, 0x6f, 0x77, 0, 1, 2]))), args: complete('z.csv'), code: 65, message: /^z\.csv: decompressed: binary data, not CSV text/ },
  { name: 'binary data given as CSV', setup: (d) => writeFileSync(join(d, 'b.csv'), Buffer.from([0x72, 0x6f, 0x77, 0, 1, 2])), args: complete('b.csv'), code: 65, message: /^b\.csv: binary data, not CSV text \(a NUL byte at byte 4\)/ },
  { name: 'Parquet given as CSV', setup: (d) => cpSync(join(base, 'g.parquet'), join(d, 'p.csv')), args: complete('p.csv'), code: 65, message: /^p\.csv: a Parquet file, not CSV text/ },
  { name: 'an outlier refused', setup: (d) => csv(d, 'o.csv', readFileSync(join(base, 'g.csv'), 'utf8') + '7,9999,1e9\n'), args: complete('o.csv', '--outliers', 'error'), code: 65, message: /^o\.csv: row "7", column "9999": value 1000000000 is .* robust standard deviations/ },
  // the input: Parquet
  { name: 'truncated Parquet', setup: (d) => writeFileSync(join(d, 't.parquet'), readFileSync(join(base, 'g.parquet')).subarray(0, 300)), args: complete('t.parquet'), code: 65, message: /t\.parquet: / },
  { name: 'not Parquet at all', setup: (d) => csv(d, 'x.parquet', 'row,col,value\n1,2,3\n'), args: complete('x.parquet'), code: 65, message: /x\.parquet: / },
  { name: 'Parquet missing a column', setup: (d) => writeHyparquet(join(d, 'm.parquet'), [{ name: 'row', type: 'INT32', values: [1] }, { name: 'col', type: 'INT32', values: [2] }]), args: complete('m.parquet'), code: 65, message: /m\.parquet: .*"value"/ },
  { name: 'Parquet value of a wrong type', setup: (d) => writeHyparquet(join(d, 'w.parquet'), [{ name: 'row', type: 'INT32', values: [1] }, { name: 'col', type: 'INT32', values: [2] }, { name: 'value', type: 'STRING', values: ['3'] }]), args: complete('w.parquet'), code: 65, message: /w\.parquet: .*column "value"/ },
  {
    name: 'Parquet null key',
    setup: (d) => writeParquetWasm(join(d, 'nk.parquet'), [
      { name: 'row', vector: vectorFromArray(['a', null, 'c'], new Utf8()), nullable: true },
      { name: 'col', vector: vectorFromArray([1, 2, 3], new Int32()), nullable: true },
      { name: 'value', vector: vectorFromArray([1, 2, 3], new Float64()), nullable: true },
    ]),
    args: complete('nk.parquet'), code: 65, message: /nk\.parquet: row group 0, row 1.*null/,
  },
  {
    name: 'Parquet NaN value',
    setup: (d) => writeHyparquet(join(d, 'pn.parquet'), [{ name: 'row', type: 'INT32', values: [1, 2] }, { name: 'col', type: 'INT32', values: [2, 3] }, { name: 'value', type: 'DOUBLE', values: [1, Number.NaN] }]),
    args: complete('pn.parquet'), code: 65, message: /pn\.parquet: row group 0, row 1.*column "value"/,
  },
  {
    name: 'Parquet duplicate pair',
    setup: (d) => writeHyparquet(join(d, 'pd.parquet'), [{ name: 'row', type: 'INT32', values: [1, 1] }, { name: 'col', type: 'INT32', values: [2, 2] }, { name: 'value', type: 'DOUBLE', values: [1, 2] }]),
    args: complete('pd.parquet'), code: 65, message: /pd\.parquet: .*duplicate pair/,
  },
  { name: 'an empty Parquet dataset directory', setup: (d) => mkdirSync(join(d, 'ds')), args: complete('ds'), code: 66, message: /ds: / },
  // the pairs to predict
  { name: 'missing pairs file', args: complete('../g.csv', '--predict', 'nopairs.csv'), code: 66, message: /^nopairs\.csv: no such file/ },
  { name: 'pairs with one column', setup: (d) => csv(d, 'p1.csv', 'row\n1\n'), args: complete('../g.csv', '--predict', 'p1.csv'), code: 65, message: /^p1\.csv: line 1, column 2: header has 1 column/ },
  { name: 'pairs header naming one key only', setup: (d) => csv(d, 'p2.csv', 'row,thing\n1,2\n'), args: complete('../g.csv', '--predict', 'p2.csv'), code: 65, message: /^p2\.csv: line 1: ambiguous header \(found "row", "thing"\): it names "row" but not "col"/ },
  { name: 'pairs with an empty key', setup: (d) => csv(d, 'p3.csv', 'row,col\n1,\n'), args: complete('../g.csv', '--predict', 'p3.csv'), code: 65, message: /^p3\.csv: line 2, column "col": empty key/ },
  { name: 'pairs with unknown keys (not an error: NaN)', setup: (d) => csv(d, 'p4.csv', 'row,col\nnobody,1\n1,nothing\n0,1\n'), args: complete('../g.csv', '--predict', 'p4.csv'), code: 0 },
  { name: 'pairs with unknown keys dropped', setup: (d) => csv(d, 'p5.csv', 'row,col\nnobody,1\n0,1\n'), args: complete('../g.csv', '--predict', 'p5.csv', '--cold-start', 'drop'), code: 0 },
  // the command line and settings
  { name: 'unknown flag', args: [...complete('../g.csv'), '--max-sweep', '3'], code: 64, message: /unknown option '--max-sweep'/ },
  { name: 'bad flag value', args: [...complete('../g.csv'), '--patience', '0'], code: 64, message: /^--patience: must be an integer >= 1, got "0"/ },
  { name: 'bad choice', args: [...complete('../g.csv'), '--center', 'median'], code: 64, message: /^--center: must be one of auto, none, mean, bias, side-bias, got "median"/ },
  { name: 'config file missing', args: [...complete('../g.csv'), '--config', 'job.yaml'], code: 66, message: /^job\.yaml: no such config file/ },
  { name: 'config file with an unknown key', setup: (d) => csv(d, 'job.yaml', 'maxSweep: 3\n'), args: [...complete('../g.csv'), '--config', 'job.yaml'], code: 78, message: /^config maxSweep \(file job\.yaml\) = 3: unknown setting \(did you mean maxSweeps\?\)/ },
  { name: 'config file that is not YAML', setup: (d) => csv(d, 'bad.yaml', 'a: [1,\n'), args: [...complete('../g.csv'), '--config', 'bad.yaml'], code: 78, message: /^config file bad\.yaml = "YAML": cannot be parsed/ },
  { name: 'config value out of range', setup: (d) => csv(d, 'r.json', '{"lambda": -1}'), args: [...complete('../g.csv'), '--config', 'r.json'], code: 78, message: /^config lambda \(file r\.json\) = -1: must be > 0/ },
  { name: 'memory budget too small', args: [...complete('../g.parquet'), '--memory-budget', '1M'], code: 78, message: /^config memory-budget = 1000000: / },
  // outputs, checkpoints, other jobs
  { name: 'output folder is a file', setup: (d) => { rmSync(join(d, 'OUT'), { recursive: true }); csv(d, 'OUT', 'x'); }, args: complete('../g.csv'), code: 74, message: /OUT: output exists and is not a directory/ },
  { name: 'output folder cannot be made', args: complete('../g.csv').map((a) => (a === 'OUT' ? '/proc/lrfm-out' : a)), code: 74, message: /^\/proc\/lrfm-out: cannot create the output folder/ },
  { name: 'checkpoint cannot be written', setup: (d) => csv(d, 'plain', 'x'), args: [...complete('../g.csv'), '--checkpoint', 'plain/ck.lrfm'], code: 74, message: /plain: the checkpoint cannot be written here/ },
  { name: 'corrupt checkpoint', setup: (d) => csv(d, 'OUT/checkpoint.lrfm', 'garbage'), args: [...complete('../g.csv'), '--resume'], code: 65, message: /OUT\/checkpoint\.lrfm: not a usable checkpoint/ },
  {
    name: 'truncated checkpoint',
    setup: (d) => {
      const whole = encodeCheckpoint({
        ...initialSchedule({ lambda: 0.05 }), sweepsDone: 1, d: 2, runId: 'x', history: [],
        K: Float64Array.of(1, 0, 0, 1), best: Float64Array.of(1, 0, 0, 1), Gprev: new Float64Array(0),
      });
      writeFileSync(join(d, 'OUT', 'checkpoint.lrfm'), whole.subarray(0, whole.length - 9));
    },
    args: [...complete('../g.csv'), '--resume'], code: 65, message: /OUT\/checkpoint\.lrfm: not a usable checkpoint/,
  },
  { name: 'a job holds the folder', setup: (d) => csv(d, 'OUT/.lin-rfm.lock', JSON.stringify({ pid: process.pid, host: hostname(), started: 'now', command: 'test' })), args: complete('../g.csv'), code: 75, message: new RegExp(`OUT: another job is using this output folder: process ${process.pid}`) },
  { name: 'a job on another host holds the folder', setup: (d) => csv(d, 'OUT/.lin-rfm.lock', JSON.stringify({ pid: 1, host: 'far-away', started: 'then', command: 'x' })), args: complete('../g.csv'), code: 75, message: /process 1 on far-away/ },
  // predict
  { name: 'predict: missing model', args: ['predict', '--model', 'nomodel', '--input', '../g.csv', '--predict', '../t.csv', '--output', 'OUT', '--quiet'], code: 66, message: /nomodel/ },
  { name: 'predict: corrupt model', setup: (d) => { mkdirSync(join(d, 'm')); csv(d, 'm/model.json', '{'); }, args: ['predict', '--model', 'm', '--input', '../g.csv', '--predict', '../t.csv', '--output', 'OUT', '--quiet'], code: 65, message: /m\/model\.json/ },
  // generate and demo
  { name: 'demo asks for more entries than the matrix has', args: ['demo', '--rows', '10', '--cols', '10', '--observed', '200', '--output', 'OUT', '--quiet'], code: 64, message: /^--observed: 200 is more than the 100 entries/ },
];

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'lrfm-bad-'));
  const g = runCli(base, ['generate', '--rows', '200', '--cols', '50', '--rank', '3', '--observed', '3000', '--seed', '4', '--out', 'g.csv', '--truth', 't.csv', '--truth-count', '200']);
  expect(g.status, g.stderr).toBe(0);
  const lines = readFileSync(join(base, 'g.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  await writeTableParquetAtomic(join(base, 'g.parquet'), [
    { name: 'row', values: lines.map((l) => l[0]!) }, { name: 'col', values: lines.map((l) => l[1]!) },
    { name: 'value', values: Float64Array.from(lines, (l) => Number(l[2])) },
  ]);
  const p = runCli(base, ['complete', '--input', 'g.csv', '--output', 'previous', '--predict', 't.csv', '--top-k', '2', '--max-sweeps', '3', '--quiet']);
  expect(p.status, p.stderr).toBe(0);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe(`bad input and faults (${cases.length} cases)`, () => {
  it('has at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  it.each(cases.map((c, k) => [k, c.name] as const))('%i: %s', async (k) => {
    const c = cases[k]!;
    const dir = join(base, `case-${k}`);
    mkdirSync(dir);
    cpSync(join(base, 'previous'), join(dir, 'OUT'), { recursive: true });
    await c.setup?.(dir);
    const out = join(dir, 'OUT');
    const before = statSync(out).isDirectory() ? snapshot(out, true) : null;
    const r = runCli(dir, c.args);
    expect(r.status, r.stderr).toBe(c.code);
    if (c.code !== 0) {
      // one line, the last one on stderr (JSON log lines aside)
      const last = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('{')).at(-1) ?? '';
      expect(last, r.stderr).toMatch(/^(lin-rfm: |error: )/);
      if (c.message) expect(last.replace(/^(lin-rfm: |error: )/, '')).toMatch(c.message);
      // the folder as it was: the previous set, and nothing of this run (no lock, no staging, no output)
      if (before !== null) expect(snapshot(out, true)).toEqual(before);
    } else {
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { outputs: Record<string, string> };
      expect(Object.keys(report.outputs).sort()).toEqual(['model', 'predictions']);
      const now = snapshot(out, true);
      expect(now.has('topk.csv')).toBe(false);
      expect([...now.keys()].filter((f) => f.startsWith('.'))).toEqual([]);
    }
  });
});
