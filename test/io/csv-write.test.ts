// writeCsvAtomic / writeFileAtomic: exact CSV text, round trips through the readers, and all-or-nothing replacement.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Errors, LinRfmError } from '../../config/errors.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { readPairsCsv, readTripletsCsv, writeCsvAtomic } from '../../io/csv.ts';
import { KeyDictionary } from '../../io/key-dictionary.ts';
import { randomInt, seededRandom, tempDir } from './helpers.ts';

async function failure(run: () => Promise<unknown>): Promise<LinRfmError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof LinRfmError) return err;
    throw err;
  }
  throw new Error('expected a LinRfmError');
}

/** Random triplets with distinct (row, col) pairs, keys drawn by `key`. */
function randomTriplets(rand: () => number, n: number, key: (side: 'r' | 'c', i: number) => string): [string, string, number][] {
  const seen = new Set<string>();
  const out: [string, string, number][] = [];
  while (out.length < n) {
    const r = key('r', randomInt(rand, 50));
    const c = key('c', randomInt(rand, 50));
    if (seen.has(`${r}\u0000${c}`)) continue;
    seen.add(`${r}\u0000${c}`);
    const value = rand() < 0.5 ? randomInt(rand, 11) / 2 : (rand() - 0.5) * 10 ** randomInt(rand, 30);
    out.push([r, c, value]);
  }
  return out;
}

async function roundTrip(data: [string, string, number][]): Promise<void> {
  const path = join(tempDir(), 'out.csv');
  await writeCsvAtomic(path, ['row', 'col', 'value'], data);
  const t = await readTripletsCsv(path);
  expect(t.nnz).toBe(data.length);
  for (let i = 0; i < t.nnz; i++) {
    const [r, c, v] = data[i];
    if (t.rowKeys.key(t.rows[i]) !== r || t.colKeys.key(t.cols[i]) !== c || !Object.is(t.values[i], v)) {
      expect.fail(`entry ${i}: wrote ${JSON.stringify(data[i])}, read back ${JSON.stringify([t.rowKeys.key(t.rows[i]), t.colKeys.key(t.cols[i]), t.values[i]])}`);
    }
  }
  // Writing the dictionaries' keys back gives the same text: keys survive write -> read -> write.
  const again = join(tempDir(), 'again.csv');
  const rows = Array.from({ length: t.nnz }, (_, i) => [t.rowKeys.key(t.rows[i]), t.colKeys.key(t.cols[i]), t.values[i]]);
  await writeCsvAtomic(again, ['row', 'col', 'value'], rows);
  expect(readFileSync(again, 'utf8')).toBe(readFileSync(path, 'utf8'));
}

describe('writeCsvAtomic', () => {
  it('writes a header, quotes only what needs it and numbers in full precision', async () => {
    const path = join(tempDir(), 'out.csv');
    await writeCsvAtomic(path, ['row', 'col', 'prediction'], [
      ['u1', 'i1', 0.1 + 0.2],
      ['a,b', 'say "hi"', -0],
      ['two\nlines', 'cr\r', 1e21],
      [7, '007', 5e-324],
    ]);
    expect(readFileSync(path, 'utf8')).toBe(
      'row,col,prediction\nu1,i1,0.30000000000000004\n"a,b","say ""hi""",-0\n"two\nlines","cr\r",1e+21\n7,007,5e-324\n',
    );
    expect(readdirSync(join(path, '..'))).toEqual(['out.csv']);
  });

  it('round-trips integer keys (property)', async ({ annotate }) => {
    const rand = seededRandom('csv-write int keys', 31337, annotate);
    await roundTrip(randomTriplets(rand, 800, (side, i) => (side === 'r' ? String(i * 37) : String(1000 + i))));
  });

  it('round-trips string keys, including quoted ones with commas (property)', async ({ annotate }) => {
    const rand = seededRandom('csv-write string keys', 271828, annotate);
    const pieces = ['u', 'Item', ' ', ',', '"', '""', 'é', '😀', '0', '007', '\n', '\r\n', 'x y'];
    const names = new Map<string, string>();
    const key = (side: 'r' | 'c', i: number): string => {
      const id = `${side}${i}`;
      let name = names.get(id);
      if (name === undefined) {
        // The index suffix keeps names distinct; the random prefix makes them awkward.
        name = Array.from({ length: randomInt(rand, 4) }, () => pieces[randomInt(rand, pieces.length)]).join('') + id;
        names.set(id, name);
      }
      return name;
    };
    await roundTrip(randomTriplets(rand, 800, key));
  });

  it('produces pairs files readPairsCsv reads back', async () => {
    const path = join(tempDir(), 'pairs.csv');
    await writeCsvAtomic(path, ['user', 'item'], [['u,1', 'i"1'], ['u2', 'i2']]);
    const p = await readPairsCsv(path, new KeyDictionary(), new KeyDictionary());
    expect([p.rowText, p.colText]).toEqual([['u,1', 'u2'], ['i"1', 'i2']]);
  });

  it('streams millions of rows from a generator without building them in memory', async () => {
    const path = join(tempDir(), 'big.csv');
    const n = 1_000_000;
    function* rows(): Generator<[number, number, number]> {
      for (let i = 0; i < n; i++) yield [i, i % 97, i / 7];
    }
    await writeCsvAtomic(path, ['row', 'col', 'value'], rows());
    const t = await readTripletsCsv(path);
    expect(t.nnz).toBe(n);
    expect(t.values[n - 1]).toBe((n - 1) / 7);
    expect(readdirSync(join(path, '..'))).toEqual(['big.csv']);
  }, 60_000);

  it('leaves the old file and no temp file when the rows throw midway', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.csv');
    writeFileSync(path, 'old contents\n');
    function* rows(): Generator<[string, number]> {
      // Enough rows that several chunks reach the temp file before the failure.
      for (let i = 0; i < 50_000; i++) yield [`k${i}`, i];
      throw new Error('model diverged');
    }
    const err = await failure(() => writeCsvAtomic(path, ['key', 'value'], rows()));
    expect(err.code).toBe('E_IO');
    expect(err.exitCode).toBe(74);
    expect(err.message).toBe(`${path}: write failed: model diverged`);
    expect((err.cause as Error).message).toBe('model diverged');
    expect(readFileSync(path, 'utf8')).toBe('old contents\n');
    expect(readdirSync(dir)).toEqual(['out.csv']);
  });

  it('passes a LinRfmError from the rows through with its own code', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.csv');
    function* rows(): Generator<[string]> {
      yield ['a'];
      throw Errors.BadData('in.csv', 'line 3', 'bad');
    }
    const err = await failure(() => writeCsvAtomic(path, ['k'], rows()));
    expect(err.code).toBe('E_BAD_DATA');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves no temp file when the rows throw before anything is written', async () => {
    // Regression: with a lazily opened fs.WriteStream the cleanup's unlink could run before the
    // open created the temp file, which then stayed behind (~1 run in 300). Repeated because it was a race.
    const dir = tempDir();
    const path = join(dir, 'out.csv');
    const rows: Iterable<string[]> = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<string[]> => {
          throw new Error('no rows today');
        },
      }),
    };
    for (let attempt = 0; attempt < 500; attempt++) {
      const err = await failure(() => writeCsvAtomic(path, ['a'], rows));
      expect(err.message).toBe(`${path}: write failed: no rows today`);
    }
    // A late open would create its file after the failure was reported: give it time to show.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects a ragged row before replacing anything', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.csv');
    const err = await failure(() => writeCsvAtomic(path, ['a', 'b'], [['1', '2'], ['3']]));
    expect(err.code).toBe('E_IO');
    expect(err.message).toBe(`${path}: write failed: row 2 has 1 fields, the header has 2`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails with E_IO when the directory does not exist', async () => {
    const path = join(tempDir(), 'no', 'such', 'dir', 'out.csv');
    const err = await failure(() => writeCsvAtomic(path, ['a'], [['1']]));
    expect(err.code).toBe('E_IO');
    expect(err.message.startsWith(`${path}: write failed: ENOENT`)).toBe(true);
  });
});

describe('writeFileAtomic', () => {
  it('writes strings and bytes, replacing the old file, leaving no temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'model.json');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, '{"rank":8}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"rank":8}\n');
    await writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['model.json']);
  });

  it('fails with E_IO and leaves nothing behind when the target cannot be replaced', async () => {
    const dir = tempDir();
    const err = await failure(() => writeFileAtomic(join(dir, 'missing', 'x.bin'), 'data'));
    expect(err.code).toBe('E_IO');
    expect(err.exitCode).toBe(74);
    // Renaming a file over a directory fails after the temp file exists: it must be cleaned up.
    const err2 = await failure(() => writeFileAtomic(dir, 'data'));
    expect(err2.code).toBe('E_IO');
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dirname(dir)).filter((f) => f.startsWith(`${basename(dir)}.tmp-`))).toEqual([]);
  });
});
