// Looks up CSV key fields by their raw UTF-8 bytes, so the hot path never builds a string per field.

/**
 * A string per field plus a Map lookup cost ~0.3 us per key in V8 (allocation, hashing, a cache
 * miss in the Map's table); hashing the bytes in place and comparing against an arena copy is
 * several times cheaper. Each entry remembers the decoded text and an int value chosen by the caller
 * (a KeyDictionary index, or -1), so a string is decoded once per distinct key, not once per line.
 *
 * Entries are distinct byte sequences; two of them may carry the same text (invalid UTF-8 decodes
 * to U+FFFD), which is why the caller, not this map, decides the value for a new entry.
 */
export class ByteKeyMap {
  /** (hash, entry + 1) pairs, linear probing; 0 in the second slot marks an empty slot. */
  private table: Int32Array;
  private mask: number;
  /** (arena offset, length, value) per entry, together so a hit touches one cache line. */
  private info: Int32Array;
  private readonly texts: string[] = [];
  private arena: Uint8Array;
  private arenaLength = 0;
  private count = 0;
  /** Files sorted by a key repeat it on consecutive lines; checking the last hit first skips the hash. */
  private last = -1;
  /**
   * entry + 1 by numeric value for keys that are canonical decimal integers below DIRECT_LIMIT
   * (digits only, no leading zero), the usual shape of recommender ids. Canonical text and value are
   * one-to-one, so this is exact; it replaces hash, probe and byte compare with one array read.
   */
  private byInt = new Int32Array(0);

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.info = new Int32Array(3 * 1024);
    this.arena = new Uint8Array(1 << 16);
  }

  get size(): number {
    return this.count;
  }

  /** The entry holding bytes src[start..end), or -1. */
  find(src: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const info = this.info;
    const arena = this.arena;
    const last = this.last;
    if (last >= 0 && info[last * 3 + 1] === len && sameBytes(src, start, arena, info[last * 3], len)) return last;
    const v = directIndex(src, start, end);
    if (v >= 0) {
      const tag = v < this.byInt.length ? this.byInt[v] : 0;
      if (tag !== 0) this.last = tag - 1;
      return tag - 1;
    }
    const h = hashBytes(src, start, end);
    const table = this.table;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const tag = table[s * 2 + 1];
      if (tag === 0) return -1;
      if (table[s * 2] === h) {
        const at = (tag - 1) * 3;
        if (info[at + 1] === len && sameBytes(src, start, arena, info[at], len)) {
          this.last = tag - 1;
          return tag - 1;
        }
      }
      s = (s + 1) & mask;
    }
  }

  /** Adds bytes src[start..end) (which must not be present yet) with its value and text; returns the entry. */
  add(src: Uint8Array, start: number, end: number, value: number, text: string): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.growTable();
    const entry = this.count;
    if ((entry + 1) * 3 > this.info.length) {
      const info = new Int32Array(this.info.length * 2);
      info.set(this.info);
      this.info = info;
    }
    const len = end - start;
    if (this.arenaLength + len > this.arena.length) this.growArena(len);
    this.arena.set(src.subarray(start, end), this.arenaLength);
    this.info[entry * 3] = this.arenaLength;
    this.info[entry * 3 + 1] = len;
    this.info[entry * 3 + 2] = value;
    this.arenaLength += len;
    this.texts.push(text);
    const v = directIndex(src, start, end);
    if (v >= 0) {
      if (v >= this.byInt.length) this.growByInt(v);
      this.byInt[v] = entry + 1;
    } else {
      insertSlot(this.table, this.mask, hashBytes(src, start, end), entry + 1);
    }
    this.count = entry + 1;
    this.last = entry;
    return entry;
  }

  value(entry: number): number {
    return this.info[entry * 3 + 2];
  }

  text(entry: number): string {
    return this.texts[entry];
  }

  private growTable(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    const table = new Int32Array(cap * 2);
    const mask = cap - 1;
    for (let s = 0; s < old.length; s += 2) if (old[s + 1] !== 0) insertSlot(table, mask, old[s], old[s + 1]);
    this.table = table;
    this.mask = mask;
  }

  private growByInt(v: number): void {
    const byInt = new Int32Array(Math.min(Math.max(v + 1, this.byInt.length * 2, 1024), DIRECT_LIMIT));
    byInt.set(this.byInt);
    this.byInt = byInt;
  }

  private growArena(need: number): void {
    let cap = this.arena.length * 2;
    while (cap < this.arenaLength + need) cap *= 2;
    const arena = new Uint8Array(cap);
    arena.set(this.arena.subarray(0, this.arenaLength));
    this.arena = arena;
  }
}

/** Caps the direct table at 16 MB however sparse the ids are; larger ids take the hash path. */
const DIRECT_LIMIT = 1 << 22;

/** The value of a canonical decimal integer key below DIRECT_LIMIT, else -1. */
function directIndex(src: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > 7 || (src[start] === 48 && len > 1)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = src[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v < DIRECT_LIMIT ? v : -1;
}

function insertSlot(table: Int32Array, mask: number, h: number, tag: number): void {
  let s = h & mask;
  while (table[s * 2 + 1] !== 0) s = (s + 1) & mask;
  table[s * 2] = h;
  table[s * 2 + 1] = tag;
}

/** murmur3_32 over the bytes: a word at a time, as long ids (UUIDs) made a byte-at-a-time hash the bottleneck. */
function hashBytes(src: Uint8Array, start: number, end: number): number {
  let h = end - start;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let shift = 0; i < end; i++, shift += 8) k |= src[i] << shift;
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Back to front: ids tend to share a prefix ("user-000...41" vs "user-000...42"), so a mismatch shows up sooner. */
function sameBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, len: number): boolean {
  for (let k = len - 1; k >= 0; k--) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}
