// Seeded random data, strided layouts and brute-force references shared by the kernel tests.

/** mulberry32: tiny, fast, good enough for test data; the same seed replays the same stream. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  seed: number;
  uniform(): number;
  normal(): number;
}

/** Seeded generator with standard normals from Box-Muller. */
export function makeRng(seed: number): Rng {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return {
    seed,
    uniform: u,
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u1 = u();
      while (u1 === 0) u1 = u();
      const r = Math.sqrt(-2 * Math.log(u1));
      const th = 2 * Math.PI * u();
      spare = r * Math.sin(th);
      return r * Math.cos(th);
    },
  };
}

/** Fixed seeds the tests iterate over; every test name carries the seed it ran with. */
export const SEEDS = [1, 42, 20240917];

/** Value written around the addressed region, to detect writes that stray outside it. */
export const SENTINEL = -12345.678;

/** Dense row-major rows x cols matrix as a plain array of rows (the reference representation). */
export type Dense = number[][];

export function randDense(rng: Rng, rows: number, cols: number): Dense {
  const M: Dense = [];
  for (let i = 0; i < rows; i++) {
    const r: number[] = [];
    for (let j = 0; j < cols; j++) r.push(rng.normal());
    M.push(r);
  }
  return M;
}

export function randSym(rng: Rng, n: number): Dense {
  const M = randDense(rng, n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) M[j]![i] = M[i]![j]!;
  return M;
}

/** B B^T + shift I with B n x n: symmetric positive definite for shift > 0. */
export function randSpd(rng: Rng, n: number, shift = 1): Dense {
  const B = randDense(rng, n, n);
  const S = matmul(B, transpose(B));
  for (let i = 0; i < n; i++) S[i]![i]! += shift;
  return S;
}

export function transpose(M: Dense): Dense {
  const rows = M.length, cols = rows === 0 ? 0 : M[0]!.length;
  const T: Dense = [];
  for (let j = 0; j < cols; j++) {
    const r: number[] = [];
    for (let i = 0; i < rows; i++) r.push(M[i]![j]!);
    T.push(r);
  }
  return T;
}

/** Brute-force triple loop. */
export function matmul(A: Dense, B: Dense): Dense {
  const m = A.length, k = B.length, n = k === 0 ? 0 : B[0]!.length;
  const C: Dense = [];
  for (let i = 0; i < m; i++) {
    const r: number[] = [];
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i]![p]! * B[p]![j]!;
      r.push(s);
    }
    C.push(r);
  }
  return C;
}

/**
 * Lays `M` out row-major in a fresh buffer with leading dimension `ld` (>= cols) after `offset`
 * leading elements, with `tail` extra elements; everything not addressed holds SENTINEL.
 */
export function pack(M: Dense, ld: number, offset: number, tail = 3): Float64Array {
  const rows = M.length, cols = rows === 0 ? 0 : M[0]!.length;
  const size = offset + (rows === 0 ? 0 : (rows - 1) * ld + cols) + tail;
  const buf = new Float64Array(size).fill(SENTINEL);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) buf[offset + i * ld + j] = M[i]![j]!;
  return buf;
}

/** Reads a rows x cols matrix back out of a strided buffer. */
export function unpack(buf: Float64Array, rows: number, cols: number, ld: number, offset: number): Dense {
  const M: Dense = [];
  for (let i = 0; i < rows; i++) {
    const r: number[] = [];
    for (let j = 0; j < cols; j++) r.push(buf[offset + i * ld + j]!);
    M.push(r);
  }
  return M;
}

/** Number of elements outside the rows x cols block at (ld, offset) that no longer hold SENTINEL. */
export function strayWrites(buf: Float64Array, rows: number, cols: number, ld: number, offset: number): number {
  let bad = 0;
  for (let t = 0; t < buf.length; t++) {
    const rel = t - offset;
    const inside = rel >= 0 && Math.floor(rel / ld) < rows && rel % ld < cols;
    if (!inside && !Object.is(buf[t], SENTINEL)) bad++;
  }
  return bad;
}

/** Strided vector: x[offset + i*stride] = v[i], everything else SENTINEL. stride may be negative. */
export function packVec(v: number[], stride: number, offset: number, tail = 2): Float64Array {
  const n = v.length;
  const span = n === 0 ? 0 : (n - 1) * Math.abs(stride) + 1;
  const buf = new Float64Array(offset + span + tail).fill(SENTINEL);
  for (let i = 0; i < n; i++) buf[offset + i * stride] = v[i]!;
  return buf;
}

export function unpackVec(buf: Float64Array, n: number, stride: number, offset: number): number[] {
  const v: number[] = [];
  for (let i = 0; i < n; i++) v.push(buf[offset + i * stride]!);
  return v;
}

export function maxAbs(M: Dense): number {
  let m = 0;
  for (const r of M) for (const x of r) m = Math.max(m, Math.abs(x));
  return m;
}

export function maxAbsDiff(A: Dense, B: Dense): number {
  if (A.length !== B.length) return Infinity;
  let m = 0;
  for (let i = 0; i < A.length; i++) {
    const a = A[i]!, b = B[i]!;
    if (a.length !== b.length) return Infinity;
    for (let j = 0; j < a.length; j++) {
      const d = Math.abs(a[j]! - b[j]!);
      if (Number.isNaN(d)) return NaN; // fails every `toBeLessThan`
      if (d > m) m = d;
    }
  }
  return m;
}

/** max |A - B| / max(1, max |B|): the relative-to-scale error all tolerances below are stated in. */
export function relErr(A: Dense, B: Dense): number {
  return maxAbsDiff(A, B) / Math.max(1, maxAbs(B));
}
