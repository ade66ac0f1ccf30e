// ByteKeyMap must behave like a Map from exact byte strings, including on its integer fast path.

import { describe, expect, it } from 'vitest';
import { ByteKeyMap } from '../../io/byte-key-map.ts';
import { randomInt, seededRandom } from './helpers.ts';

function lookup(map: ByteKeyMap, key: string): number {
  const b = Buffer.from(`,${key},`);
  return map.find(b, 1, b.length - 1);
}

function add(map: ByteKeyMap, key: string, value: number): number {
  const b = Buffer.from(`,${key},`);
  return map.add(b, 1, b.length - 1, value, key);
}

describe('ByteKeyMap', () => {
  it('keeps integer-looking keys with different text apart', () => {
    const m = new ByteKeyMap();
    const keys = ['7', '007', '07', '0', '00', '-7', '+7', '7.0', '4194303', '4194304', '99999999', ''];
    keys.forEach((k, i) => {
      expect(lookup(m, k), k).toBe(-1);
      expect(add(m, k, i * 10)).toBe(i);
    });
    keys.forEach((k, i) => {
      const e = lookup(m, k);
      expect(e, k).toBe(i);
      expect(m.value(e)).toBe(i * 10);
      expect(m.text(e)).toBe(k);
    });
    expect(lookup(m, '8')).toBe(-1);
    expect(lookup(m, '5000000')).toBe(-1);
  });

  it('agrees with a Map over many random keys (property)', ({ annotate }) => {
    const rand = seededRandom('byte-key-map', 4242, annotate);
    const m = new ByteKeyMap(4);
    const ref = new Map<string, number>();
    const alphabet = ['0', '1', '2', '9', 'a', 'Z', '-', ' ', 'é', '"', '😀'];
    for (let i = 0; i < 30000; i++) {
      let key: string;
      const kind = rand();
      if (kind < 0.4) key = String(randomInt(rand, 5000));
      else if (kind < 0.5) key = String(randomInt(rand, 1e9));
      else key = Array.from({ length: randomInt(rand, 12) }, () => alphabet[randomInt(rand, alphabet.length)]).join('');
      const want = ref.get(key);
      const got = lookup(m, key);
      if (want === undefined) {
        if (got !== -1) expect.fail(`${JSON.stringify(key)} found but never added`);
        ref.set(key, add(m, key, ref.size));
      } else if (got !== want || m.text(got) !== key || m.value(got) !== want) {
        expect.fail(`${JSON.stringify(key)}: entry ${got}, expected ${want}`);
      }
    }
    expect(m.size).toBe(ref.size);
  });
});
