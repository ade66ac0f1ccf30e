// Turns Arrow columns decoded from Parquet into what the loaders keep: key text -> index, values -> float64.

import { DataType, Precision, type Data } from 'apache-arrow';
import { ByteKeyMap } from './byte-key-map.ts';
import { Int64KeyMap, int32Words, int64Text, TWO_32 } from './int64-key-map.ts';

/**
 * How a key column is read. Keys are text (an int64 key 7 is "7"), so a CSV and a Parquet file of
 * the same data give the same keys; only the lookup path differs by type.
 */
export type KeyKind = 'int' | 'uint64' | 'utf8' | 'large-utf8' | 'dictionary';

/** The key kind of an Arrow type, or null if keys of that type are not accepted. */
export function keyKind(type: DataType): KeyKind | null {
  if (DataType.isInt(type)) return type.bitWidth === 64 && !type.isSigned ? 'uint64' : 'int';
  if (DataType.isUtf8(type)) return 'utf8';
  if (DataType.isLargeUtf8(type)) return 'large-utf8';
  if (DataType.isDictionary(type)) {
    const inner = keyKind(type.dictionary);
    return inner === null || inner === 'dictionary' ? null : 'dictionary';
  }
  return null;
}

export const KEY_TYPES = 'an integer (int8..int64, uint8..uint64), utf8, large utf8, or a dictionary of those';
export const VALUE_TYPES = 'numeric (int8..int64, uint8..uint64, float16/32/64 or decimal)';

/** Whether values of this Arrow type convert to float64 (exactly for ints up to 2^53, else correctly rounded). */
export function isValueType(type: DataType): boolean {
  if (DataType.isInt(type) || DataType.isFloat(type)) return true;
  return DataType.isDecimal(type) && type.bitWidth % 32 === 0 && type.bitWidth >= 32;
}

/** Arrow's name for a type, as messages show it. */
export function typeName(type: DataType): string {
  return String(type);
}

/** Index of the first null among the column's first n values, or -1. */
export function firstNull(data: Data, n: number): number {
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0 || data.nullCount === 0) return -1;
  const base = data.offset;
  for (let i = 0; i < n; i++) {
    const bit = base + i;
    if ((bitmap[bit >> 3] & (1 << (bit & 7))) === 0) return i;
  }
  return -1;
}

/**
 * Maps the keys of one column to small ints: the value `resolve` gave a key the first time it was
 * seen (a KeyDictionary index when loading training data, a slot in a side table when only looking
 * keys up). Each distinct key is decoded to a string once; repeats are found by bytes or by integer.
 */
export class KeyColumnMapper {
  private readonly bytes = new ByteKeyMap();
  /** Signed 64-bit values: every signed int type and uint8..uint32, plus uint64 below 2^63. */
  private readonly ints = new Int64KeyMap();
  /** uint64 at or above 2^63, whose bits read as a negative int64 with different text. */
  private readonly bigUints = new Int64KeyMap();
  /** The last dictionary seen and its entries' values (or markers), since consecutive batches often share one. */
  private lastDictionary: unknown = null;
  private lastTranslation = new Int32Array(0);
  private dictionaryChunks: readonly Data[] = [];

  constructor(private readonly resolve: (text: string) => number) {}

  /** Why the last map() that returned a row failed. */
  problem: 'null key' | 'empty key' = 'empty key';

  /**
   * Writes the value of each of the column's first n keys into out[at..at+n). Returns the index of
   * the first key that is the empty string (rejected as the CSV reader rejects an empty field) or
   * null through a dictionary entry, with `problem` saying which; else -1. Rows whose own validity
   * bit is clear must have been rejected by the caller (firstNull) before.
   */
  map(data: Data, n: number, out: Int32Array, at: number): number {
    const type = data.type;
    if (DataType.isInt(type)) {
      if (type.bitWidth === 64) {
        const big = data.values as BigInt64Array | BigUint64Array;
        mapInt64Words(int32Words(big), n, !type.isSigned, this.ints, this, out, at);
      } else {
        mapSmallInts(data.values as ArrayLike<number>, n, this.ints, this.resolve, out, at);
      }
      return -1;
    }
    if (DataType.isUtf8(type)) {
      this.problem = 'empty key';
      return mapUtf8(data.values as Uint8Array, data.valueOffsets as Int32Array, 1, n, this.bytes, this.resolve, out, at);
    }
    if (DataType.isLargeUtf8(type)) {
      // 64-bit offsets read through their low words: a batch's string bytes live in one JS buffer, < 2^31.
      const offsets = int32Words(data.valueOffsets as unknown as BigInt64Array);
      this.problem = 'empty key';
      return mapUtf8(data.values as Uint8Array, offsets, 2, n, this.bytes, this.resolve, out, at);
    }
    if (DataType.isDictionary(type)) return this.mapDictionary(data, n, out, at);
    throw new TypeError(`KeyColumnMapper: unsupported key type ${typeName(type)}`);
  }

  /** Value for the int64 (lo, hi) words, resolving its text the first time it is seen. */
  int64(lo: number, hi: number, unsigned: boolean): number {
    const map = unsigned && hi < 0 ? this.bigUints : this.ints;
    const found = map.get(lo, hi);
    if (found >= 0) return found;
    return map.add(lo, hi, this.resolve(int64Text(lo, hi, unsigned)));
  }

  private mapDictionary(data: Data, n: number, out: Int32Array, at: number): number {
    const dictionary = data.dictionary;
    if (dictionary === undefined) throw new TypeError('KeyColumnMapper: dictionary column without a dictionary');
    if (dictionary !== this.lastDictionary) {
      this.lastDictionary = dictionary;
      this.lastTranslation = new Int32Array(dictionary.length).fill(UNRESOLVED);
      this.dictionaryChunks = dictionary.data;
    }
    // int64 indices are read through their low words (a dictionary longer than 2^31 cannot be in memory).
    const wide = (data.values as ArrayLike<unknown>) instanceof BigInt64Array || (data.values as ArrayLike<unknown>) instanceof BigUint64Array;
    const indices = wide ? int32Words(data.values as BigInt64Array) : (data.values as ArrayLike<number>);
    return this.translate(indices, wide ? 2 : 1, n, this.lastTranslation, out, at);
  }

  /**
   * Entries are resolved when a row first uses them, not all up front: a dictionary may hold values
   * no row uses, or list them in another order than the rows, and keys must be interned in row
   * order, the order the CSV reader sees them in, and only if used.
   */
  private translate(indices: ArrayLike<number>, stride: number, n: number, translation: Int32Array, out: Int32Array, at: number): number {
    const size = translation.length;
    for (let i = 0; i < n; i++) {
      const k = indices[stride * i];
      let v = k >= 0 && k < size ? translation[k] : NULL_ENTRY;
      if (v === UNRESOLVED) v = translation[k] = this.resolveEntry(k);
      out[at + i] = v;
      if (v < 0) {
        this.problem = v === EMPTY_ENTRY ? 'empty key' : 'null key';
        return i;
      }
    }
    return -1;
  }

  /** The value of dictionary entry k, or NULL_ENTRY / EMPTY_ENTRY. */
  private resolveEntry(k: number): number {
    let chunk = 0;
    let j = k;
    while (j >= this.dictionaryChunks[chunk].length) j -= this.dictionaryChunks[chunk++].length;
    const data = this.dictionaryChunks[chunk];
    if (firstNull(data.slice(j, 1), 1) === 0) return NULL_ENTRY;
    const one = new Int32Array(1);
    return this.map(data.slice(j, 1), 1, one, 0) >= 0 ? EMPTY_ENTRY : one[0];
  }
}

/** Dictionary translation markers; real values are >= 0. */
const NULL_ENTRY = -1;
const EMPTY_ENTRY = -2;
const UNRESOLVED = -3;

function mapSmallInts(
  values: ArrayLike<number>,
  n: number,
  map: Int64KeyMap,
  resolve: (text: string) => number,
  out: Int32Array,
  at: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const lo = v | 0;
    // uint32 above 2^31-1 is lo < 0 with hi 0; a negative int is hi -1.
    const hi = v < 0 ? -1 : 0;
    let found = map.get(lo, hi);
    if (found < 0) found = map.add(lo, hi, resolve(String(v)));
    out[at + i] = found;
  }
}

function mapInt64Words(words: Int32Array, n: number, unsigned: boolean, map: Int64KeyMap, mapper: KeyColumnMapper, out: Int32Array, at: number): void {
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i];
    const hi = words[2 * i + 1];
    // The common case (signed, or an unsigned value below 2^63) is found without the call.
    const found = hi >= 0 || !unsigned ? map.get(lo, hi) : -1;
    out[at + i] = found >= 0 ? found : mapper.int64(lo, hi, unsigned);
  }
}

/** offsets[stride * i] is key i's start (stride 2 reads the low words of 64-bit offsets). Returns the first empty key, or -1. */
function mapUtf8(
  bytes: Uint8Array,
  offsets: Int32Array,
  stride: number,
  n: number,
  map: ByteKeyMap,
  resolve: (text: string) => number,
  out: Int32Array,
  at: number,
): number {
  for (let i = 0; i < n; i++) {
    const start = offsets[stride * i];
    const end = offsets[stride * (i + 1)];
    if (start === end) return i;
    let entry = map.find(bytes, start, end);
    if (entry < 0) {
      const text = utf8.decode(bytes.subarray(start, end));
      entry = map.add(bytes, start, end, resolve(text), text);
    }
    out[at + i] = map.value(entry);
  }
  return -1;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Converts the column's first n values to float64 into out[at..at+n). Returns the index of the
 * first value that is not finite (NaN or +-Inf, only possible from float columns), else -1.
 */
export function readValues(data: Data, n: number, out: Float64Array, at: number, allowNaN = false): number {
  const type = data.type;
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.DOUBLE) out.set((data.values as Float64Array).subarray(0, n), at);
    else if (type.precision === Precision.SINGLE) copyNumbers(data.values as Float32Array, n, out, at);
    else halfToDouble(data.values as Uint16Array, n, out, at);
    return firstNonFinite(out, at, n, allowNaN);
  }
  if (DataType.isInt(type)) {
    if (type.bitWidth === 64) int64ToDouble(int32Words(data.values as BigInt64Array), n, !type.isSigned, out, at);
    else copyNumbers(data.values as ArrayLike<number>, n, out, at);
    return -1;
  }
  if (DataType.isDecimal(type)) {
    decimalToDouble(data.values as Uint32Array, type.bitWidth / 32, type.scale, n, out, at);
    return -1;
  }
  throw new TypeError(`readValues: unsupported value type ${typeName(type)}`);
}

function copyNumbers(values: ArrayLike<number>, n: number, out: Float64Array, at: number): void {
  for (let i = 0; i < n; i++) out[at + i] = values[i];
}

function firstNonFinite(out: Float64Array, at: number, n: number, allowNaN: boolean): number {
  for (let i = 0; i < n; i++) {
    const v = out[at + i];
    if (v - v !== 0 && !(allowNaN && Number.isNaN(v))) return i;
  }
  return -1;
}

/** One rounding: hi * 2^32 is exact, so the sum is the correctly rounded value, as Number(bigint) gives. */
function int64ToDouble(words: Int32Array, n: number, unsigned: boolean, out: Float64Array, at: number): void {
  if (unsigned) for (let i = 0; i < n; i++) out[at + i] = (words[2 * i + 1] >>> 0) * TWO_32 + (words[2 * i] >>> 0);
  else for (let i = 0; i < n; i++) out[at + i] = words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
}

function halfToDouble(bits: Uint16Array, n: number, out: Float64Array, at: number): void {
  for (let i = 0; i < n; i++) {
    const h = bits[i];
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24;
    else if (exp === 31) v = frac === 0 ? Infinity : NaN;
    else v = (1024 + frac) * 2 ** (exp - 25);
    out[at + i] = h & 0x8000 ? -v : v;
  }
}

/**
 * Decimal (unscaled two's-complement integer of `words` 32-bit words, little-endian) / 10^scale,
 * correctly rounded, so 1.25 stored as (125, scale 2) equals the CSV text "1.25" parsed.
 */
function decimalToDouble(values: Uint32Array, words: number, scale: number, n: number, out: Float64Array, at: number): void {
  // Both operands exact (|int| < 2^53, 10^k exact for k <= 22): IEEE division rounds the true quotient once.
  const pow = Math.abs(scale) <= 22 ? 10 ** Math.abs(scale) : 0;
  for (let i = 0; i < n; i++) {
    const base = i * words;
    const lo = values[base];
    const hi = words >= 2 ? values[base + 1] | 0 : lo | 0;
    const small = words === 1 || (hi >= -0x200000 && hi < 0x200000 && signExtended(values, base, words, hi));
    if (small && pow !== 0) {
      const int = words === 1 ? lo | 0 : hi * TWO_32 + (lo >>> 0);
      out[at + i] = scale >= 0 ? int / pow : int * pow;
    } else {
      out[at + i] = Number(`${decimalInteger(values, base, words)}e${-scale}`);
    }
  }
}

/** Whether the words above the low two are all sign bits of hi. */
function signExtended(values: Uint32Array, base: number, words: number, hi: number): boolean {
  const fill = hi < 0 ? 0xffffffff : 0;
  for (let k = 2; k < words; k++) if (values[base + k] !== fill) return false;
  return true;
}

function decimalInteger(values: Uint32Array, base: number, words: number): bigint {
  let v = 0n;
  for (let k = words - 1; k >= 0; k--) v = (v << 32n) | BigInt(values[base + k]);
  return BigInt.asIntN(words * 32, v);
}
