// parseDecimal must agree bit for bit with Number() on every decimal it accepts, and reject the rest.

import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../../io/decimal.ts';
import { randomInt, seededRandom } from './helpers.ts';

function parse(text: string): number {
  const bytes = Buffer.from(`#${text}#`, 'utf8'); // padding checks the range is honoured
  return parseDecimal(bytes, 1, bytes.length - 1);
}

describe('parseDecimal', () => {
  it('reads plain decimals like Number()', () => {
    const ok = ['0', '-0', '+0', '1', '-1', '4.5', '.5', '5.', '007', '1e3', '1E-3', '-2.5e+10', '1e22', '1e23', '123456789012345678', '0.1', '0.30000000000000004', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', ' 4.5', '4.5 ', '\t3\t', '0e999', '1e-400'];
    for (const text of ok) expect(Object.is(parse(text), Number(text)), text).toBe(true);
    expect(Object.is(parse('-0'), -0)).toBe(true);
    expect(Object.is(parse('-0.000'), -0)).toBe(true);
  });

  it('returns ±Infinity on overflow so the caller can name it', () => {
    expect(parse('1e999')).toBe(Infinity);
    expect(parse('-1e400')).toBe(-Infinity);
  });

  it('rejects what is not a plain decimal', () => {
    const bad = ['', ' ', '.', '+', '-', 'e5', '1e', '1e+', '--1', '+-1', '1.2.3', '0x1f', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', 'nan', '1,5', '1_000', 'abc', '4.5x', '١', '1 2'];
    for (const text of bad) expect(parse(text), JSON.stringify(text)).toBeNaN();
  });

  it('agrees with Number() on random decimals (property)', ({ annotate }) => {
    const rand = seededRandom('decimal', 20240611, annotate);
    const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(rand, 10))).join('');
    for (let trial = 0; trial < 20000; trial++) {
      let text = rand() < 0.3 ? '-' : '';
      text += digits(randomInt(rand, 19));
      if (rand() < 0.7) text += `.${digits(randomInt(rand, 19))}`;
      if (text.replace(/[-.]/g, '') === '') text += '0';
      if (rand() < 0.3) text += `e${rand() < 0.5 ? '-' : ''}${randomInt(rand, 330)}`;
      const want = Number(text);
      const got = parse(text);
      if (!Object.is(got, want)) expect.fail(`parseDecimal(${JSON.stringify(text)}) = ${got}, Number() = ${want}`);
    }
    // Every double printed by String() must come back exactly: that is the writer's round trip.
    for (let trial = 0; trial < 20000; trial++) {
      const x = (rand() - 0.5) * 10 ** randomInt(rand, 40) * (rand() < 0.1 ? 1e-300 : 1);
      if (!Object.is(parse(String(x)), x)) expect.fail(`round trip of ${String(x)}`);
    }
  });
});
