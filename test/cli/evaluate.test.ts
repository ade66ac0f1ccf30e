// `lin-rfm evaluate`: a hand-checked case through the executable (text keys, a pair without a
// prediction, a row without a list, --relevant-min), and a real run's predictions and top-k lists
// scored against the same figures computed here from the files.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-evaluate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: string[]): string => {
  writeFileSync(join(dir, name), lines.join('\n') + '\n');
  return name;
};
const l2 = (x: number): number => Math.log(x) / Math.LN2;

describe('evaluate on a hand-checked case', () => {
  it('RMSE, MAE and coverage; precision, recall, NDCG and MAP at 2 with relevant values >= 4', () => {
    const truth = write('truth.csv', ['user,item,rating', 'ann,x,5', 'ann,y,2', 'ann,z,4', 'bob,x,4', 'bob,w,1', 'cyd,y,5']);
    // bob,w has no prediction; a prediction for a pair not in the truth is ignored
    const pred = write('pred.csv', ['user,item,prediction', 'ann,x,4.5', 'ann,y,3', 'ann,z,4', 'bob,x,3', 'cyd,y,NaN', 'dan,x,1']);
    // ann: z first (relevant), q, then x (relevant but past k = 2); bob: x (relevant); cyd: no list
    const top = write('top.csv', ['user,item,score,rank', 'ann,q,4.0,2', 'ann,z,4.9,1', 'ann,x,3.9,3', 'bob,x,3.5,1', 'bob,q,3.4,2']);
    const r = runCli(dir, ['evaluate', '--truth', truth, '--predictions', pred, '--top-k', top, '--k', '2', '--relevant-min', '4',
      '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating', '--json', 'ev.json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RMSE .* over 4 of 6 pairs/);
    const ev = JSON.parse(readFileSync(join(dir, 'ev.json'), 'utf8'));
    // scored: ann,x -0.5; ann,y +1; ann,z 0; bob,x -1 (bob,w missing, cyd,y NaN)
    expect(ev.rating.predicted).toBe(4);
    expect(ev.rating.coverage).toBeCloseTo(4 / 6, 14);
    expect(ev.rating.rmse).toBeCloseTo(Math.sqrt((0.25 + 1 + 0 + 1) / 4), 14);
    expect(ev.rating.mae).toBeCloseTo(2.5 / 4, 14);
    // relevant (>= 4): ann {x, z}, bob {x}, cyd {y}; lists at 2: ann [z, q], bob [x, q], cyd none
    const m = ev.ranking;
    expect(m.rows).toBe(3);
    expect(m.rowsWithoutList).toBe(1);
    expect(m.precision).toBeCloseTo((1 / 2 + 1 / 2 + 0) / 3, 14);
    expect(m.recall).toBeCloseTo((1 / 2 + 1 + 0) / 3, 14);
    const ndccAnn = 1 / (1 + 1 / l2(3));
    expect(m.ndcg).toBeCloseTo((ndccAnn + 1 + 0) / 3, 14);
    expect(m.map).toBeCloseTo((1 / 2 + 1 + 0) / 3, 14);
    // items in the lists at 2: z, q, x of the 5 distinct items in the files (x, y, z, w, q)
    expect(m.itemsRecommended).toBe(3);
    expect(m.catalogue).toBe(5);
  });

  it('no --predictions and no --top-k is a usage error (exit 64); a bad rank names the file and entry (exit 65)', () => {
    write('t2.csv', ['row,col,value', 'a,b,1']);
    expect(runCli(dir, ['evaluate', '--truth', 't2.csv']).status).toBe(64);
    write('bad-top.csv', ['row,col,score,rank', 'a,b,1,0.5']);
    const r = runCli(dir, ['evaluate', '--truth', 't2.csv', '--top-k', 'bad-top.csv']);
    expect(r.status).toBe(65);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad-top\.csv: entry 1, column "rank"/);
  });
});

describe('evaluate on a run of complete (seed 3)', () => {
  it('agrees with RMSE and NDCG@5 computed here from predictions.csv, topk.csv and the truth', () => {
    const g = runCli(dir, ['generate', '--rows', '150', '--cols', '40', '--rank', '2', '--observed', '2000', '--seed', '3', '--out', 'g.csv', '--truth', 'gt.csv', '--truth-count', '400']);
    expect(g.status, g.stderr).toBe(0);
    const c = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'run', '--predict', 'gt.csv', '--top-k', '5', '--max-sweeps', '30', '--evaluate', 'gt.csv', '--quiet']);
    expect(c.status, c.stderr).toBe(0);
    const r = runCli(dir, ['evaluate', '--truth', 'gt.csv', '--predictions', 'run/predictions.csv', '--top-k', 'run/topk.csv', '--json', 'run-ev.json']);
    expect(r.status, r.stderr).toBe(0);
    const ev = JSON.parse(readFileSync(join(dir, 'run-ev.json'), 'utf8'));

    const truth = readCsv(join(dir, 'gt.csv'));
    const pred = new Map(readCsv(join(dir, 'run', 'predictions.csv')).map(([i, j, p]) => [`${i},${j}`, Number(p)]));
    let se = 0;
    for (const [i, j, v] of truth) se += (pred.get(`${i},${j}`)! - Number(v)) ** 2;
    expect(ev.rating.rmse).toBeCloseTo(Math.sqrt(se / truth.length), 12);

    const rel = new Map<string, Set<string>>();
    for (const [i, j] of truth) rel.set(i!, (rel.get(i!) ?? new Set()).add(j!));
    const lists = new Map<string, string[]>();
    for (const [i, j, , rank] of readCsv(join(dir, 'run', 'topk.csv'))) {
      const l = lists.get(i!) ?? [];
      l[Number(rank) - 1] = j!;
      lists.set(i!, l);
    }
    let ndcg = 0;
    for (const [i, items] of rel) {
      const l = lists.get(i) ?? [];
      let dcg = 0;
      l.slice(0, 5).forEach((j, r) => { if (items.has(j)) dcg += 1 / l2(r + 2); });
      let ideal = 0;
      for (let r = 0; r < Math.min(items.size, 5); r++) ideal += 1 / l2(r + 2);
      ndcg += dcg / ideal;
    }
    expect(ev.ranking.k).toBe(5);
    expect(ev.ranking.ndcg).toBeCloseTo(ndcg / rel.size, 12);
    // held-out pairs are unobserved, so top-k lists can hit them: a fit of rank-2 data does
    expect(ev.ranking.ndcg).toBeGreaterThan(0);

    // complete --evaluate put the same figures in its report (from the predictions before they were written)
    const report = JSON.parse(readFileSync(join(dir, 'run', 'report.json'), 'utf8'));
    expect(report.evaluation.rating.rmse).toBeCloseTo(ev.rating.rmse, 12);
    expect(report.evaluation.rating.coverage).toBe(1);
    expect(report.evaluation.ranking.ndcg).toBeCloseTo(ev.ranking.ndcg, 12);
    expect(report.evaluation.ranking.map).toBeCloseTo(ev.ranking.map, 12);
  });

  it('complete --evaluate with a missing file stops before the run, naming it (exit 66)', () => {
    const c = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'run2', '--evaluate', 'nowhere.csv', '--quiet']);
    expect(c.status).toBe(66);
    expect(c.stderr).toMatch(/nowhere\.csv: --evaluate: no such file/);
  });
});
