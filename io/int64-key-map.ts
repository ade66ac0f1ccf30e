// Keys that are 64-bit integers, looked up by their two 32-bit words so the hot loops never allocate a BigInt.

/** (lo, hi) int32 pairs over a 64-bit array's bytes, so the hot loops never allocate a BigInt. */
export function int32Words(a: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length * 2);
}

export const TWO_32 = 4294967296;

/** Decimal text of the 64-bit integer hi * 2^32 + lo (unsigned hi when `unsigned`). */
export function int64Text(lo: number, hi: number, unsigned: boolean): string {
  // Below 2^53 in magnitude the double is exact and String() is the decimal text.
  if (hi >= -0x200000 && hi < 0x200000 && !(unsigned && hi < 0)) return String(hi * TWO_32 + (lo >>> 0));
  const high = unsigned ? BigInt(hi >>> 0) : BigInt(hi);
  return String(high * 4294967296n + BigInt(lo >>> 0));
}

/** Values of integers up to DIRECT_LIMIT go straight to an array slot instead of the hash table. */
const DIRECT_LIMIT = 1 << 22;

/**
 * Open-addressing map from 64-bit integers, as (lo, hi) int32 words, to non-negative ints. Small
 * non-negative keys (the usual dense ids) index an array directly. A slot holds (lo, hi, value + 1,
 * unused) side by side, so a probe touches one cache line: with separate key and value arrays a
 * lookup in a shuffled 1M-row file cost ~60 ns, three cache misses.
 */
export class Int64KeyMap {
  /** 4 ints per slot: lo, hi, value + 1 (0 = empty slot), padding. */
  private table = new Int32Array(1024 * 4);
  private mask = 1023;
  /** Entries in the table; the rest sit in `direct`. */
  private hashed = 0;
  private count = 0;
  /** value + 1 for key v in 0..DIRECT_LIMIT-1, 0 = absent. */
  private direct = new Int32Array(0);

  get size(): number {
    return this.count;
  }

  /** The value stored for (lo, hi), or -1. */
  get(lo: number, hi: number): number {
    if (hi === 0 && lo >= 0 && lo < DIRECT_LIMIT) return lo < this.direct.length ? this.direct[lo] - 1 : -1;
    const table = this.table;
    const mask = this.mask;
    for (let s = hash64(lo, hi) & mask; ; s = (s + 1) & mask) {
      const at = s << 2;
      const tag = table[at + 2];
      if (tag === 0) return -1;
      if (table[at] === lo && table[at + 1] === hi) return tag - 1;
    }
  }

  /** Adds (lo, hi), which must be absent, with value >= 0; returns the value. */
  add(lo: number, hi: number, value: number): number {
    this.count++;
    if (hi === 0 && lo >= 0 && lo < DIRECT_LIMIT) {
      if (lo >= this.direct.length) {
        const direct = new Int32Array(Math.min(Math.max(lo + 1, this.direct.length * 2, 1024), DIRECT_LIMIT));
        direct.set(this.direct);
        this.direct = direct;
      }
      this.direct[lo] = value + 1;
      return value;
    }
    if ((this.hashed + 1) * 2 > this.mask + 1) this.rehash();
    insert(this.table, this.mask, lo, hi, value + 1);
    this.hashed++;
    return value;
  }

  private rehash(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    const table = new Int32Array(cap * 4);
    const mask = cap - 1;
    for (let at = 0; at < old.length; at += 4) if (old[at + 2] !== 0) insert(table, mask, old[at], old[at + 1], old[at + 2]);
    this.table = table;
    this.mask = mask;
  }
}

function insert(table: Int32Array, mask: number, lo: number, hi: number, tag: number): void {
  let s = hash64(lo, hi) & mask;
  while (table[(s << 2) + 2] !== 0) s = (s + 1) & mask;
  table[s << 2] = lo;
  table[(s << 2) + 1] = hi;
  table[(s << 2) + 2] = tag;
}

/** murmur3's finaliser over both words: ids that differ only in high bits still spread. */
function hash64(lo: number, hi: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
