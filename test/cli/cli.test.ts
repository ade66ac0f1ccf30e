// The CLI end to end through the real executable: generate, complete, predictions, report, bad input.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function parseCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
}

describe('lin-rfm generate + complete', () => {
  it('completes a generated problem and predicts held-out truth (seed 5)', () => {
    const g = run('generate', '--rows', '90', '--cols', '60', '--rank', '2', '--observed', '1800', '--seed', '5', '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '300');
    expect(g.code, g.stderr).toBe(0);
    const train = parseCsv(join(dir, 'train.csv'));
    expect(train[0]).toEqual(['row', 'col', 'value']);
    expect(train.length).toBe(1801);
    const truth = parseCsv(join(dir, 'truth.csv'));
    expect(truth.length).toBe(301);
    // truth pairs are unobserved
    const observed = new Set(train.slice(1).map((r) => `${r[0]},${r[1]}`));
    for (const r of truth.slice(1)) expect(observed.has(`${r[0]},${r[1]}`)).toBe(false);

    const c = run('complete', '--input', 'train.csv', '--output', 'run1', '--predict', 'truth.csv', '--seed', '1');
    expect(c.code, c.stderr).toBe(0);
    // not a terminal: progress is JSON lines
    const events = c.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(events.some((e) => e.event === 'sweep')).toBe(true);
    const pred = parseCsv(join(dir, 'run1', 'predictions.csv'));
    expect(pred[0]).toEqual(['row', 'col', 'prediction']);
    expect(pred.length).toBe(301);
    let num = 0;
    let den = 0;
    for (let e = 1; e < 301; e++) {
      expect(pred[e]!.slice(0, 2)).toEqual(truth[e]!.slice(0, 2));
      num += (Number(pred[e]![2]) - Number(truth[e]![2])) ** 2;
      den += Number(truth[e]![2]) ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-2);
    const report = JSON.parse(readFileSync(join(dir, 'run1', 'report.json'), 'utf8'));
    expect(report.sweeps).toBe(report.history.length);
    expect(report.options.seed).toBe(1);
    expect(report.input.fingerprint[0].bytes).toBeGreaterThan(0);
    expect(report.input.fingerprint[0].sha256HeadTail).toMatch(/^[0-9a-f]{64}$/);
    expect(report.peakRssBytes).toBeGreaterThan(0);
    expect(['converged', 'patience', 'max-sweeps']).toContain(report.stopReason);
    expect(readdirSync(join(dir, 'run1')).sort()).toEqual(['model', 'predictions.csv', 'report.json']);
    expect(readdirSync(join(dir, 'run1', 'model')).sort()).toEqual(['kernel.arrow', 'keys.arrow', 'model.json']);
  });

  it('predict with the saved model folds the training rows back in and reproduces complete\'s predictions byte for byte', () => {
    const f = run('predict', '--model', join('run1', 'model'), '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'fold');
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(join(dir, 'fold', 'predictions.csv'), 'utf8')).toBe(readFileSync(join(dir, 'run1', 'predictions.csv'), 'utf8'));
    const report = JSON.parse(readFileSync(join(dir, 'fold', 'report.json'), 'utf8'));
    expect(report.command).toBe('predict');
    expect(report.input.droppedUnknownColumns).toBe(0);
    // top-k: 4 per row, none of them observed, ranks 1..4 with scores descending
    expect(run('complete', '--input', 'train.csv', '--output', 'runk', '--top-k', '4', '--quiet').code).toBe(0);
    const topk = parseCsv(join(dir, 'runk', 'topk.csv'));
    expect(topk[0]).toEqual(['row', 'col', 'score', 'rank']);
    expect(topk.length).toBe(1 + 90 * 4);
    const observedPairs = new Set(parseCsv(join(dir, 'train.csv')).slice(1).map((r) => `${r[0]},${r[1]}`));
    for (let e = 1; e < topk.length; e++) {
      expect(observedPairs.has(`${topk[e]![0]},${topk[e]![1]}`)).toBe(false);
      expect(Number(topk[e]![3])).toBe(((e - 1) % 4) + 1);
      if ((e - 1) % 4 > 0) expect(Number(topk[e]![2])).toBeLessThanOrEqual(Number(topk[e - 1]![2]));
    }
    // with row and column biases too
    expect(run('complete', '--input', 'train.csv', '--output', 'runb', '--predict', 'truth.csv', '--center', 'bias', '--quiet').code).toBe(0);
    expect(run('predict', '--model', join('runb', 'model'), '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'foldb', '--quiet').code).toBe(0);
    expect(readFileSync(join(dir, 'foldb', 'predictions.csv'), 'utf8')).toBe(readFileSync(join(dir, 'runb', 'predictions.csv'), 'utf8'));
    // a model directory that is not one: exit 66, no output
    expect(run('predict', '--model', 'nowhere', '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'fold2').code).toBe(66);
    expect(existsSync(join(dir, 'fold2'))).toBe(false);
  });

  it('maps string keys back to the same text and predicts NaN for unseen keys', () => {
    const lines = ['user,item,rating,ts', ...Array.from({ length: 8 }, (_, i) => Array.from({ length: 5 }, (_, j) => (i + j) % 3 !== 0 ? `u${i},"it,${j}",${(i % 3) + (j % 2) + 1},0` : null)).flat().filter((x): x is string => x !== null)];
    // the engine reads columns row/col/value: rename the header to those
    lines[0] = 'row,col,value,ts';
    writeFileSync(join(dir, 'str.csv'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'pairs.csv'), 'row,col\nu0,"it,0"\nu7,"it,4"\nnobody,"it,1"\n');
    const c = run('complete', '--input', 'str.csv', '--output', 'run2', '--predict', 'pairs.csv', '--max-sweeps', '5');
    expect(c.code, c.stderr).toBe(0);
    const text = readFileSync(join(dir, 'run2', 'predictions.csv'), 'utf8').trim().split('\n');
    expect(text[0]).toBe('row,col,prediction');
    expect(text[1]!.startsWith('u0,"it,0",')).toBe(true);
    expect(text[2]!.startsWith('u7,"it,4",')).toBe(true);
    expect(Number.isFinite(Number(text[1]!.split(',').pop()))).toBe(true);
    expect(text[3]).toBe('nobody,"it,1",NaN');
    // cold-start policies: drop leaves the pair out; mean predicts the mean of the observed ratings
    expect(run('complete', '--input', 'str.csv', '--output', 'run2d', '--predict', 'pairs.csv', '--max-sweeps', '5', '--cold-start', 'drop', '--quiet').code).toBe(0);
    expect(readFileSync(join(dir, 'run2d', 'predictions.csv'), 'utf8').trim().split('\n').length).toBe(3);
    expect(run('complete', '--input', 'str.csv', '--output', 'run2m', '--predict', 'pairs.csv', '--max-sweeps', '5', '--cold-start', 'mean', '--quiet').code).toBe(0);
    const last = readFileSync(join(dir, 'run2m', 'predictions.csv'), 'utf8').trim().split('\n')[3]!;
    const ratings = lines.slice(1).map((l) => Number(l.split(',')[3]));
    const mean = ratings.reduce((x, y) => x + y, 0) / ratings.length;
    expect(Number(last.split(',').pop())).toBeCloseTo(mean, 12);
  });

  const bad: [string, string, RegExp][] = [
    ['no header', '1,2,3\n4,5,6\n', /header|column/],
    ['non-numeric value', 'row,col,value\n1,2,3\n1,3,abc\n', /line 3.*value/],
    ['NaN value', 'row,col,value\n1,2,NaN\n', /line 2/],
    ['infinite value', 'row,col,value\n1,2,3\n2,2,Infinity\n', /line 3/],
    ['duplicate pair', 'row,col,value\n1,2,3\n2,2,1\n1,2,4\n', /line 4.*line 2|duplicate/],
  ];
  for (const [name, body, pattern] of bad) {
    it(`rejects ${name} with exit 65, one line naming the line, and no output`, () => {
      writeFileSync(join(dir, 'bad.csv'), body);
      const c = run('complete', '--input', 'bad.csv', '--output', 'badrun');
      expect(c.code).toBe(65);
      const msg = c.stderr.trim().split('\n').filter((l) => l.startsWith('lin-rfm:'));
      expect(msg.length).toBe(1);
      expect(msg[0]).toMatch(/bad\.csv/);
      expect(msg[0]).toMatch(pattern);
      expect(existsSync(join(dir, 'badrun'))).toBe(false);
    });
  }

  it('--full writes every entry of the completed matrix once, observed ones as observed', () => {
    const c = run('complete', '--input', 'train.csv', '--output', 'runf', '--full', '--max-sweeps', '20', '--quiet');
    expect(c.code, c.stderr).toBe(0);
    const full = parseCsv(join(dir, 'runf', 'full.csv'));
    expect(full[0]).toEqual(['row', 'col', 'value', 'observed']);
    expect(full.length).toBe(1 + 90 * 60);
    const pairs = new Set(full.slice(1).map((r) => `${r[0]},${r[1]}`));
    expect(pairs.size).toBe(90 * 60);
    const train = new Map(parseCsv(join(dir, 'train.csv')).slice(1).map((r) => [`${r[0]},${r[1]}`, Number(r[2])]));
    let observed = 0;
    for (const r of full.slice(1)) {
      const v = train.get(`${r[0]},${r[1]}`);
      if (v !== undefined) {
        observed++;
        expect(r[3]).toBe('1');
        expect(Number(r[2])).toBeCloseTo(v, 12);
      } else expect(r[3]).toBe('0');
    }
    expect(observed).toBe(1800);
  });

  it('the same predictions for 1, 2 and 4 workers, byte for byte', () => {
    const outs = ['1', '2', '4'].map((w) => {
      const c = run('complete', '--input', 'train.csv', '--output', `w${w}`, '--predict', 'truth.csv', '--workers', w, '--max-sweeps', '40', '--quiet');
      expect(c.code, c.stderr).toBe(0);
      return readFileSync(join(dir, `w${w}`, 'predictions.csv'), 'utf8');
    });
    expect(outs[1]).toBe(outs[0]);
    expect(outs[2]).toBe(outs[0]);
  });

  it('a ratings file with its own column names, settings from a YAML job file: CSV outputs keep the names', () => {
    const lines = readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(dir, 'ratings.csv'), ['user,item,rating', ...lines.slice(1)].join('\n') + '\n');
    writeFileSync(join(dir, 'job.yaml'), 'input: ratings.csv\noutput: named\nrowKey: user\ncolKey: item\nvalueKey: rating\npredict: truth.csv\ntopK: 2\nmaxSweeps: 5\n');
    const c = run('complete', '--config', 'job.yaml', '--quiet');
    expect(c.code, c.stderr).toBe(0);
    expect(parseCsv(join(dir, 'named', 'predictions.csv'))[0]).toEqual(['user', 'item', 'prediction']);
    expect(parseCsv(join(dir, 'named', 'topk.csv'))[0]).toEqual(['user', 'item', 'score', 'rank']);
    const report = JSON.parse(readFileSync(join(dir, 'named', 'report.json'), 'utf8'));
    expect(report.settings.values.maxSweeps).toBe(5);
    expect(report.settings.sources.maxSweeps).toBe('file job.yaml');
    expect(report.settings.sources.quiet).toBe('flag');
    expect(report.sweeps).toBe(5);
  });

  it('--duplicates last and mean merge a repeated pair instead of failing', () => {
    // a 3 x 3 problem where (1, 2) is given twice: 3 then 5
    writeFileSync(join(dir, 'dup.csv'), 'row,col,value\n0,0,1\n0,1,2\n1,0,2\n1,2,3\n2,1,1\n2,2,2\n1,2,5\n0,2,1\n');
    writeFileSync(join(dir, 'dup-pairs.csv'), 'row,col\n1,2\n');
    for (const [policy, want] of [['last', '5'], ['mean', '4']] as const) {
      const c = run('complete', '--input', 'dup.csv', '--output', `dup-${policy}`, '--predict', 'dup-pairs.csv', '--duplicates', policy, '--center', 'none', '--max-sweeps', '3', '--quiet');
      expect(c.code, c.stderr).toBe(0);
      // an observed pair is predicted as its (merged) observed value
      expect(readFileSync(join(dir, `dup-${policy}`, 'predictions.csv'), 'utf8').trim().split('\n')[1]).toBe(`1,2,${want}`);
    }
  });

  it('a missing input exits 66, a bad flag 64, with no output', () => {
    expect(run('complete', '--input', 'nope.csv', '--output', 'r3').code).toBe(66);
    expect(existsSync(join(dir, 'r3'))).toBe(false);
    const b = run('complete', '--input', 'train.csv', '--output', 'r4', '--alpha', '-1');
    expect(b.code).toBe(64);
    expect(b.stderr).toMatch(/--alpha/);
    expect(run('frobnicate').code).toBe(64);
    const mem = run('complete', '--input', 'train.csv', '--output', 'r5', '--memory-budget', '1M');
    expect(mem.code).toBe(78);
    expect(mem.stderr).toMatch(/memory-budget = 1000000: .*needs about [0-9.]+ GB in memory and at least [0-9.]+ GB spilled/);
    expect(existsSync(join(dir, 'r5'))).toBe(false);
    expect(existsSync(join(dir, 'r4'))).toBe(false);
  });
});
