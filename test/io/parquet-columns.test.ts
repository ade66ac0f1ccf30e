// KeyColumnMapper, Int64KeyMap and readValues on hand-built Arrow data: key text, dictionary order, value conversion.

import { Decimal, Dictionary, Float16, Int32, Int64, Uint64, Utf8, makeData, makeVector, vectorFromArray, type Data } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { KeyDictionary } from '../../io/key-dictionary.ts';
import { Int64KeyMap, int64Text } from '../../io/int64-key-map.ts';
import { KeyColumnMapper, readValues } from '../../io/parquet-columns.ts';
import { randomInt, seededRandom } from './helpers.ts';

function mapAll(data: Data, dict = new KeyDictionary()): { out: Int32Array; bad: number; keys: string[]; problem: string } {
  const mapper = new KeyColumnMapper((text) => dict.intern(text));
  const out = new Int32Array(data.length);
  const bad = mapper.map(data, data.length, out, 0);
  return { out, bad, keys: dict.keys(), problem: mapper.problem };
}

describe('KeyColumnMapper', () => {
  it('interns dictionary entries in row order, only when a row uses them', () => {
    const dictionary = vectorFromArray(['zz', 'b', 'a', 'unused'], new Utf8());
    const data = makeData({ type: new Dictionary(new Utf8(), new Int32()), length: 5, nullCount: 0, data: Int32Array.of(2, 1, 2, 0, 1), dictionary });
    const { out, bad, keys } = mapAll(data);
    expect(bad).toBe(-1);
    expect(keys).toEqual(['a', 'b', 'zz']);
    expect(Array.from(out)).toEqual([0, 1, 0, 2, 1]);
  });

  it('reports a row that uses an empty or null dictionary entry, and not one that is unused', () => {
    const dictionary = vectorFromArray(['x', '', null, 'y'], new Utf8());
    const type = new Dictionary(new Utf8(), new Int32());
    expect(mapAll(makeData({ type, length: 2, nullCount: 0, data: Int32Array.of(0, 3), dictionary })).bad).toBe(-1);
    const empty = mapAll(makeData({ type, length: 3, nullCount: 0, data: Int32Array.of(0, 3, 1), dictionary }));
    expect([empty.bad, empty.problem]).toEqual([2, 'empty key']);
    const nul = mapAll(makeData({ type, length: 2, nullCount: 0, data: Int32Array.of(2, 0), dictionary }));
    expect([nul.bad, nul.problem]).toEqual([0, 'null key']);
  });

  it('gives integer keys their decimal text, the same key whatever the integer type', () => {
    const dict = new KeyDictionary();
    mapAll(makeData({ type: new Int64(), length: 4, nullCount: 0, data: BigInt64Array.of(7n, -1n, 2n ** 62n, -(2n ** 63n)) }), dict);
    mapAll(makeData({ type: new Int32(), length: 2, nullCount: 0, data: Int32Array.of(-1, 7) }), dict);
    const u = mapAll(makeData({ type: new Uint64(), length: 3, nullCount: 0, data: BigUint64Array.of(7n, 2n ** 64n - 1n, 2n ** 62n) }), dict);
    expect(dict.keys()).toEqual(['7', '-1', '4611686018427387904', '-9223372036854775808', '18446744073709551615']);
    expect(Array.from(u.out)).toEqual([0, 4, 2]);
  });

  it('finds utf8 keys by bytes; an empty string is an empty key', () => {
    const r = mapAll(vectorFromArray(['a', 'Zoë', 'a', '7', 'Zoë'], new Utf8()).data[0]);
    expect([r.keys, Array.from(r.out), r.bad]).toEqual([['a', 'Zoë', '7'], [0, 1, 0, 2, 1], -1]);
    const e = mapAll(vectorFromArray(['a', ''], new Utf8()).data[0]);
    expect([e.bad, e.problem]).toEqual([1, 'empty key']);
  });

  it('reads a sliced column from its offset', () => {
    const sliced = makeVector(Int32Array.of(10, 11, 12, 13)).data[0].slice(1, 2);
    const r = mapAll(sliced);
    expect(r.keys).toEqual(['11', '12']);
  });
});

describe('Int64KeyMap', () => {
  it('agrees with a Map on random keys, small and large, through rehashes', ({ annotate }) => {
    const rand = seededRandom('Int64KeyMap', 99, annotate);
    const map = new Int64KeyMap();
    const ref = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      const kind = randomInt(rand, 3);
      const lo = kind === 0 ? randomInt(rand, 5000) : (randomInt(rand, 2 ** 32) | 0);
      const hi = kind === 2 ? (randomInt(rand, 2 ** 32) | 0) : kind === 1 ? randomInt(rand, 3) - 1 : 0;
      const key = `${lo}:${hi}`;
      const known = ref.get(key);
      expect(map.get(lo, hi)).toBe(known ?? -1);
      if (known === undefined) {
        ref.set(key, ref.size);
        expect(map.add(lo, hi, ref.size - 1)).toBe(ref.size - 1);
      }
    }
    expect(map.size).toBe(ref.size);
  });

  it('int64Text is the exact decimal text, signed or unsigned', () => {
    const words = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];
    for (const v of [0n, 1n, -1n, 2n ** 53n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 3n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const [lo, hi] = words(v);
      expect(int64Text(lo, hi, false)).toBe(String(v));
      expect(int64Text(lo, hi, true)).toBe(String(BigInt.asUintN(64, v)));
    }
  });
});

describe('readValues', () => {
  it('decimals are correctly rounded, like parsing their text', ({ annotate }) => {
    const rand = seededRandom('readValues decimal', 7, annotate);
    const n = 500;
    const ints: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const digits = 1 + randomInt(rand, 37);
      let s = '';
      for (let d = 0; d < digits; d++) s += String(randomInt(rand, 10));
      ints.push(rand() < 0.5 ? -BigInt(s) : BigInt(s));
    }
    for (const scale of [0, 2, 9, 25]) {
      const words = new Uint32Array(n * 4);
      ints.forEach((v, i) => {
        const u = BigInt.asUintN(128, v);
        for (let k = 0; k < 4; k++) words[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
      });
      const out = new Float64Array(n);
      expect(readValues(makeData({ type: new Decimal(scale, 38, 128), length: n, nullCount: 0, data: words }), n, out, 0)).toBe(-1);
      ints.forEach((v, i) => expect(out[i]).toBe(Number(`${v}e-${scale}`)));
    }
  });

  it('float16, int64 beyond 2^53 and non-finite floats', () => {
    const out = new Float64Array(4);
    readValues(vectorFromArray([1.5, -65504, 2 ** -24, 0], new Float16()).data[0], 4, out, 0);
    expect(Array.from(out)).toEqual([1.5, -65504, 2 ** -24, 0]);
    readValues(makeData({ type: new Int64(), length: 3, nullCount: 0, data: BigInt64Array.of(2n ** 53n + 1n, -(2n ** 63n), 12345n) }), 3, out, 1);
    expect(Array.from(out)).toEqual([1.5, Number(2n ** 53n + 1n), -(2 ** 63), 12345]);
    expect(readValues(makeVector(Float64Array.of(1, 2, NaN)).data[0], 3, out, 0)).toBe(2);
    expect(readValues(makeVector(Float32Array.of(-Infinity)).data[0], 1, out, 0)).toBe(0);
  });
});
