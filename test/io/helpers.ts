// Shared test scaffolding for the io tests: throwaway directories and a replayable random generator.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const dirs: string[] = [];

/** A fresh directory under the OS temp dir, removed after the current test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-io-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to `name` in a fresh temp dir and returns the path. */
export function csvFile(text: string | Uint8Array, name = 'data.csv'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

/**
 * mulberry32, seeded from LIN_RFM_SEED or the given default, the seed noted on the test (`annotate`
 * of its context: reporters show it with a failure), so a failure found by a random test can be
 * replayed exactly with `LIN_RFM_SEED=<seed> npx vitest run ...`.
 */
export function seededRandom(label: string, fallback: number, note: (message: string) => Promise<unknown>): () => number {
  const fromEnv = process.env.LIN_RFM_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : fallback >>> 0;
  void note(`[${label}] seed=${seed} (replay with LIN_RFM_SEED=${seed})`);
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** "PAR1", a FileMetaData holding only num_rows (field 3, i64, zigzag varint), its length, "PAR1". */
export function hugeFooterFile(rows: number): Buffer {
  const bytes: number[] = [0x36];
  let u = 2 * rows;
  while (u >= 0x80) {
    bytes.push((u % 0x80) | 0x80);
    u = Math.floor(u / 0x80);
  }
  bytes.push(u, 0x00);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length);
  return Buffer.concat([Buffer.from('PAR1'), Buffer.from(bytes), len, Buffer.from('PAR1')]);
}
