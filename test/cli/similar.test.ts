// `lin-rfm similar` on a model written by complete: the lists are the cosines of the kernel's
// columns computed here from the model file; unknown items are refused naming the line.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel } from '../../io/model.ts';
import { readCsv, runCli } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lrfm-similar-'));
  const g = runCli(dir, ['generate', '--rows', '120', '--cols', '25', '--rank', '2', '--observed', '1500', '--seed', '4', '--out', 'g.csv']);
  expect(g.status, g.stderr).toBe(0);
  const c = runCli(dir, ['complete', '--input', 'g.csv', '--output', 'run', '--max-sweeps', '10', '--quiet']);
  expect(c.status, c.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lin-rfm similar (seed 4)', () => {
  it("lists each asked item's top 3 by the cosine of the model kernel's columns", () => {
    writeFileSync(join(dir, 'items.csv'), 'col\n3\n17\n');
    const r = runCli(dir, ['similar', '--model', 'run/model', '--top-k', '3', '--items', 'items.csv', '--out', 'sim.csv']);
    expect(r.status, r.stderr).toBe(0);
    const m = readModel(join(dir, 'run', 'model'));
    const d = m.d;
    const col = (key: string): number => m.keys.get(key);
    const cos = (i: number, j: number): number => {
      let dot = 0, ni = 0, nj = 0;
      for (let l = 0; l < d; l++) {
        dot += m.K[l * d + i]! * m.K[l * d + j]!;
        ni += m.K[l * d + i]! ** 2;
        nj += m.K[l * d + j]! ** 2;
      }
      return dot / Math.sqrt(ni * nj);
    };
    const rows = readCsv(join(dir, 'sim.csv'));
    expect(rows.map((x) => x[0])).toEqual(['3', '3', '3', '17', '17', '17']);
    for (const item of ['3', '17']) {
      const i = col(item);
      const want = Array.from({ length: d }, (_, j) => j).filter((j) => j !== i).sort((a, b) => cos(i, b) - cos(i, a)).slice(0, 3);
      const got = rows.filter((x) => x[0] === item);
      expect(got.map((x) => col(x[1]!))).toEqual(want);
      got.forEach((x, r) => {
        expect(Number(x[2])).toBeCloseTo(cos(i, want[r]!), 10);
        expect(x[3]).toBe(String(r + 1));
      });
    }
  });

  it('an item the model lacks is refused with its file and line (exit 65)', () => {
    writeFileSync(join(dir, 'bad.csv'), 'col\n3\nnot-an-item\n');
    const r = runCli(dir, ['similar', '--model', 'run/model', '--top-k', '3', '--items', 'bad.csv', '--out', 'x.csv']);
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/bad\.csv: line 3: item "not-an-item" is not known/);
  });
});
