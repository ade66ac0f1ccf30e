// Checkpoint files: the engine's state between sweeps in one file, replaced atomically, so a job
// killed at any moment (kill -9 included) leaves either the previous checkpoint or the new one.
//
// Layout: the 8 bytes "LRFMCKP1", a little-endian uint32 header length, the header (JSON: the
// scalars, the history and the array lengths), zero padding to a multiple of 8, then the arrays
// K, best, Gprev and the side biases (empty without them) as little-endian float64, then a uint32
// FNV-1a checksum of everything before it. A file of three arrays (written before the side biases)
// reads as one without them.

import { existsSync, readFileSync } from 'node:fs';
import { Errors } from '../config/errors.ts';
import type { EngineState } from '../engine/state.ts';
import { writeFileAtomicSync } from './atomic.ts';

const MAGIC = 'LRFMCKP1';

// NaN and the infinities have no JSON form; they travel as these strings.
const nonFinite = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const revive = (_k: string, v: unknown): unknown => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v);

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export function encodeCheckpoint(s: EngineState): Uint8Array {
  const { K, best, Gprev, bias, ...scalars } = s;
  const arrays = [K, best, Gprev, bias ?? new Float64Array(0)];
  const lengths = arrays.map((x) => x.length);
  const header = new TextEncoder().encode(JSON.stringify({ ...scalars, lengths }, nonFinite));
  const start = Math.ceil((12 + header.length) / 8) * 8;
  const n = lengths.reduce((x, y) => x + y, 0);
  const total = start + 8 * n + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  const f = new Float64Array(out.buffer, start, n);
  let at = 0;
  for (const x of arrays) {
    f.set(x, at);
    at += x.length;
  }
  view.setUint32(total - 4, fnv1a(out.subarray(0, total - 4)), true);
  return out;
}

export function decodeCheckpoint(path: string, bytes: Uint8Array): EngineState {
  const bad = (why: string): never => {
    throw Errors.BadData(path, '', `not a usable checkpoint: ${why}`);
  };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) bad('wrong magic bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(bytes.length - 4, true) !== fnv1a(bytes.subarray(0, bytes.length - 4))) bad('checksum mismatch (truncated or corrupt)');
  const hlen = view.getUint32(8, true);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen)), revive) as Record<string, unknown>;
  } catch {
    return bad('unreadable header');
  }
  const lengths = header['lengths'] as number[];
  if (!Array.isArray(lengths) || (lengths.length !== 3 && lengths.length !== 4)) bad('unreadable header');
  const start = Math.ceil((12 + hlen) / 8) * 8;
  const n = lengths.reduce((x, y) => x + y, 0);
  if (start + 8 * n + 4 !== bytes.length) bad('array lengths do not match the file size');
  // copy into aligned storage: the file's bytes may sit at any offset of a pooled buffer
  const f = new Float64Array(n);
  new Uint8Array(f.buffer).set(bytes.subarray(start, start + 8 * n));
  delete header['lengths'];
  const ends = lengths.map((_, e) => lengths.slice(0, e + 1).reduce((x, y) => x + y, 0));
  const bias = lengths.length === 4 && lengths[3]! > 0 ? { bias: f.subarray(ends[2], ends[3]) } : {};
  return {
    ...(header as unknown as Omit<EngineState, 'K' | 'best' | 'Gprev' | 'bias'>),
    K: f.subarray(0, ends[0]),
    best: f.subarray(ends[0], ends[1]),
    Gprev: f.subarray(ends[1], ends[2]),
    ...bias,
  };
}

/** Writes the checkpoint synchronously (the engine calls this between sweeps): temp file, fsync, rename. */
export function writeCheckpoint(path: string, s: EngineState): void {
  writeFileAtomicSync(path, encodeCheckpoint(s), 'checkpoint');
}

/** The checkpoint at `path`, or null when there is none. */
export function readCheckpoint(path: string): EngineState | null {
  if (!existsSync(path)) return null;
  return decodeCheckpoint(path, readFileSync(path));
}
