// Maps row/column key text to dense 0-based indices, in first-seen order, and back.

/**
 * Keys are compared and stored as their exact text ("007" and "7" are different keys, " u1" is not
 * "u1") so output can echo the input's keys byte for byte.
 */
export class KeyDictionary {
  private readonly index = new Map<string, number>();
  private readonly texts: string[] = [];

  /** Rebuilds a dictionary whose index i is keys[i], e.g. from a saved model. */
  static from(keys: Iterable<string>): KeyDictionary {
    const dict = new KeyDictionary();
    for (const key of keys) {
      const before = dict.size;
      // A repeated key would silently shift every later index, so it is a hard error.
      if (dict.intern(key) !== before) throw new RangeError(`KeyDictionary.from: duplicate key ${JSON.stringify(key)}`);
    }
    return dict;
  }

  get size(): number {
    return this.texts.length;
  }

  /** The index of `key`, assigning the next free index if it is new. */
  intern(key: string): number {
    const found = this.index.get(key);
    if (found !== undefined) return found;
    const id = this.texts.length;
    this.index.set(key, id);
    this.texts.push(key);
    return id;
  }

  /** The index of `key`, or -1 if it was never interned (-1 so it can go straight into an Int32Array). */
  get(key: string): number {
    const found = this.index.get(key);
    return found === undefined ? -1 : found;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  /** The text of the key at `index`; throws RangeError outside 0..size-1. */
  key(index: number): string {
    const text = this.texts[index];
    if (text === undefined) throw new RangeError(`KeyDictionary.key: index ${index} outside 0..${this.texts.length - 1}`);
    return text;
  }

  /** All keys in index order (a copy). */
  keys(): string[] {
    return this.texts.slice();
  }
}
