// KeyDictionary: dense first-seen indices over exact key text.

import { describe, expect, it } from 'vitest';
import { KeyDictionary } from '../../io/key-dictionary.ts';

describe('KeyDictionary', () => {
  it('assigns dense indices in first-seen order', () => {
    const d = new KeyDictionary();
    expect(d.size).toBe(0);
    expect(d.intern('b')).toBe(0);
    expect(d.intern('a')).toBe(1);
    expect(d.intern('b')).toBe(0);
    expect(d.intern('c')).toBe(2);
    expect(d.size).toBe(3);
    expect(d.keys()).toEqual(['b', 'a', 'c']);
    expect([0, 1, 2].map((i) => d.key(i))).toEqual(['b', 'a', 'c']);
  });

  it('compares keys as exact text', () => {
    const d = new KeyDictionary();
    const ids = ['7', '007', '7.0', ' 7', '7 ', ''].map((k) => d.intern(k));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
    expect(d.key(1)).toBe('007');
  });

  it('answers -1 for unseen keys without adding them', () => {
    const d = new KeyDictionary();
    d.intern('x');
    expect(d.get('x')).toBe(0);
    expect(d.get('y')).toBe(-1);
    expect(d.has('y')).toBe(false);
    expect(d.size).toBe(1);
  });

  it('rejects out-of-range indices', () => {
    const d = KeyDictionary.from(['a']);
    expect(() => d.key(1)).toThrow(RangeError);
    expect(() => d.key(-1)).toThrow(RangeError);
    expect(() => d.key(0.5)).toThrow(RangeError);
  });

  it('keys() is a copy', () => {
    const d = KeyDictionary.from(['a', 'b']);
    d.keys().push('c');
    expect(d.size).toBe(2);
  });

  it('rebuilds from a saved key list and rejects duplicates', () => {
    const d = KeyDictionary.from(['u3', 'u1', 'u2']);
    expect(d.get('u1')).toBe(1);
    expect(() => KeyDictionary.from(['a', 'b', 'a'])).toThrow(/duplicate key "a"/);
  });
});
