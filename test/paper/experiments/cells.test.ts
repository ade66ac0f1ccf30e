// Resumable grids (paper/experiments/cells.ts): cells kept as they finish, taken back with resume,
// a slice run alone, another grid's file refused, a last line cut short dropped, NaN kept.

import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CellsMismatch, CellStore, gridId } from '../../../paper/experiments/cells.ts';
import { tempDirs } from './helpers.ts';

const tempDir = tempDirs();

interface Rec {
  key: string;
  value: number;
}

/** Runs cells a..e through the store, counting the computations. */
async function runGrid(store: CellStore<Rec>, computed: string[]): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const [q, key] of ['a', 'b', 'c', 'd', 'e'].entries()) {
    const got = await store.cell(key, () => {
      computed.push(key);
      return [{ key, value: q === 2 ? Number.NaN : q / 3 }];
    });
    out.push(...got.records);
  }
  return out;
}

describe('CellStore', () => {
  it('keeps each cell as it finishes; resume takes them back (NaN too) and runs only the rest; a slice runs alone', async () => {
    const path = join(await tempDir('cells-'), 'x.cells.jsonl');
    const id = gridId({ sizes: [1, 2] });
    const first: string[] = [];
    const part = await runGrid(CellStore.open<Rec>(path, 'x', id, { resume: false, slice: [1, 2] }), first);
    expect(first).toEqual(['b', 'c']);
    expect(part.map((r) => r.key)).toEqual(['b', 'c']);
    const again: string[] = [];
    const store = CellStore.open<Rec>(path, 'x', id, { resume: true });
    const all = await runGrid(store, again);
    expect(again).toEqual(['a', 'd', 'e']);
    expect(store.counts).toEqual({ total: 5, ran: 3, resumed: 2, skipped: 0 });
    expect(all.map((r) => r.key)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(Number.isNaN(all[2]!.value)).toBe(true);
    expect(all[1]!.value).toBe(1 / 3);
    // a run killed while writing its last cell: that line is dropped, the cell runs again
    appendFileSync(path, '{"key":"f","rec');
    const third: string[] = [];
    await runGrid(CellStore.open<Rec>(path, 'x', id, { resume: true }), third);
    expect(third).toEqual([]);
    expect(readFileSync(path, 'utf8').endsWith('}]}\n')).toBe(true);
    // another grid's file, with resume: refused; without: started afresh
    expect(() => CellStore.open<Rec>(path, 'x', gridId({ sizes: [1, 3] }), { resume: true })).toThrow(CellsMismatch);
    const fresh: string[] = [];
    await runGrid(CellStore.open<Rec>(path, 'x', gridId({ sizes: [1, 3] }), { resume: false }), fresh);
    expect(fresh).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses a key given twice in one run (two cells would be taken for one)', async () => {
    const store = CellStore.memory<Rec>();
    await store.cell('a', () => [{ key: 'a', value: 1 }]);
    await expect(store.cell('a', () => [{ key: 'a', value: 2 }])).rejects.toThrow(/twice in one grid/);
  });
});
