// predict's fold-in cut into chunk tasks (pipeline/cluster/fold.ts): with every task run here on its
// chunk file, the predictions and top-k lists are those of a local predict, whatever rows have no
// entries (leading, after a row larger than a chunk, trailing) and however small the chunks; and a
// low-rank model with side biases, checked against a dense solve too.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Matrix, solve } from 'ml-matrix';
import { foldInTopK, foldModel } from '../../../cli/recommend.ts';
import { csrFromTriplets, type Csr } from '../../../engine/csr.ts';
import type { Center } from '../../../engine/center.ts';
import { orthonormalize } from '../../../engine/lowrank.ts';
import { predictWithModel } from '../../../engine/prediction.ts';
import { readChunk } from '../../../io/chunks.ts';
import type { StoredModel } from '../../../io/model.ts';
import { KeyDictionary } from '../../../io/key-dictionary.ts';
import { Rng } from '../../../kernels/index.ts';
import type { BlockResult, RemotePass } from '../../../pipeline/blocks.ts';
import { foldChunk, foldOnCluster } from '../../../pipeline/cluster/fold.ts';
import { operandBytes, taskOf, type Task } from '../../../pipeline/cluster/protocol.ts';
import type { RemoteSolves } from '../../../pipeline/run.ts';

const root = mkdtempSync(join(tmpdir(), 'linrfm-fold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs each fold task here, as a worker would: its chunk read back from the file, the operand from its bytes. */
class HereRemote implements RemoteSolves {
  pass: RemotePass | null = null;
  tasks = 0;
  async dispatch(pass: RemotePass): Promise<void> {
    this.pass = pass;
  }
  async collect(chunk: number, out: Float64Array): Promise<BlockResult[]> {
    const pass = this.pass!;
    if (pass.kind !== 'fold') throw new Error('a fold pass expected');
    const c = pass.chunks[chunk]!;
    const common = { format: 2, code: { version: 'x', kernels: 'x', fma: false }, job: '0'.repeat(16), operandKey: 'k', operandSha: '0', operandParts: 1 } as unknown as Parameters<typeof taskOf>[3];
    const t = taskOf(pass, c, c.path, common, { key: 'f', bytes: Buffer.alloc(0), sha: '0', parts: 1 }) as Extract<Task, { kind: 'fold' }>;
    const e = readChunk(c.path, c.nnz);
    // every chunk holds entries: a task of none is refused by the task schema
    expect(c.nnz).toBeGreaterThan(0);
    const train: number[] = [];
    const valRow: number[] = [];
    const valCol: number[] = [];
    for (let p = 0; p < c.nnz; p++) {
      if (e.held[p]) {
        valRow.push(e.row[p]!);
        valCol.push(e.col[p]!);
      } else train.push(p);
    }
    const m = csrFromTriplets(c.rows, pass.d, train.length, Int32Array.from(train, (p) => e.row[p]!), Int32Array.from(train, (p) => e.col[p]!), Float64Array.from(train, (p) => e.value[p]!));
    const bytes = operandBytes(pass);
    const op = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    out.set(await foldChunk(t, { train: m, valRow: Int32Array.from(valRow), valCol: Int32Array.from(valCol) }, op, pass.rowBias.subarray(c.r0, c.r0 + c.rows)));
    this.tasks++;
    return [];
  }
}

describe('fold-in as chunk tasks', () => {
  const seed = 17;
  it(`gives a local predict's predictions and lists, rows without entries anywhere, chunks of 8 entries (seed ${seed})`, async () => {
    const rng = new Rng(seed);
    const n = 40;
    const d = 12;
    // rows 0-4 without entries, rows 5 and 35 with 10 (more than a chunk), rows 6-9 and 36-39 without
    const counts = Array.from({ length: n }, (_, i) => (i < 5 || (i >= 6 && i < 10) || i >= 36 ? 0 : i === 5 || i === 35 ? 10 : Math.floor(rng.uniform() * 4)));
    const rows: number[] = [];
    const cols: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      const picked = new Set<number>();
      while (picked.size < counts[i]!) picked.add(Math.floor(rng.uniform() * d));
      for (const j of [...picked].sort((a, b) => a - b)) {
        rows.push(i);
        cols.push(j);
        vals.push(rng.normal());
      }
    }
    const observed: Csr = csrFromTriplets(n, d, rows.length, Int32Array.from(rows), Int32Array.from(cols), Float64Array.from(vals));
    // a symmetric positive definite kernel A A^T / d + I
    const A = Float64Array.from({ length: d * d }, () => rng.normal());
    const K = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = i === j ? 1 : 0;
      for (let q = 0; q < d; q++) s += (A[i * d + q]! * A[j * d + q]!) / d;
      K[i * d + j] = s;
    }
    const center: Center = { kind: 'bias', mean: 0.3, reg: 5, colBias: Float64Array.from({ length: d }, () => 0.1 * rng.normal()) };
    const rowBias = Float64Array.from({ length: n }, () => 0.1 * rng.normal());
    const model = { d, K, lambda: 0.1, scale: 1.3, alpha: 0.5, transposed: false, keys: new KeyDictionary(), center: { kind: 'bias' as const, mean: 0.3, reg: 5, bias: center.colBias } };
    // pairs on rows 5 and 10-35 only (so rows 0-4, 6-9 and 36-39 have nothing at all), two out of range
    const pr = Int32Array.from({ length: 120 }, (_, e) => (e === 7 ? -1 : e % 9 === 0 ? 5 : 10 + (e % 26)));
    const pc = Int32Array.from({ length: 120 }, (_, e) => (e === 11 ? d : Math.floor(rng.uniform() * d)));

    const remote = new HereRemote();
    const topK = 3;
    const got = await foldOnCluster(remote, { jobDir: join(root, 'job'), model, center, rowBias, observed, pairs: { rows: pr, cols: pc }, topK, chunkEntries: 8 });
    expect(remote.tasks).toBeGreaterThanOrEqual(5);

    const lm = { d, K, lambda: 0.1, scale: 1.3, transposed: false, alpha: 0.5 };
    expect(got.pred).toEqual(predictWithModel(lm, observed, pr, pc));
    const want = foldInTopK(model as unknown as StoredModel, observed, topK, { rows: null, candidates: null, excludeSeen: true, center, rowBias });
    expect(got.top).toEqual(want);
    // and every row is listed, with topK columns (each row has at least 12 - 10 = 2 unobserved, topK of them where it can)
    for (let i = 0; i < n; i++) expect(Array.from(got.top!.rows).filter((r) => r === i).length, `row ${i}`).toBe(Math.min(topK, d - counts[i]!));
  });

  it(`a low-rank model with side biases: the local predictions and lists, which a dense solve of the targets less the biases gives (seed ${seed + 1})`, async () => {
    const rng = new Rng(seed + 1);
    const n = 30;
    const d = 12;
    const k = 3;
    const rows: number[] = [];
    const cols: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        if (rng.uniform() < 0.4) {
          rows.push(i);
          cols.push(j);
          vals.push(rng.normal());
        }
      }
    }
    const observed: Csr = csrFromTriplets(n, d, rows.length, Int32Array.from(rows), Int32Array.from(cols), Float64Array.from(vals));
    const U = Float64Array.from({ length: d * k }, () => rng.normal());
    expect(orthonormalize(d, k, U)).toBe(true);
    const lowRank = { d, k, U, w: Float64Array.of(5, 2, 0.5), tauK: 0.2 };
    const bias = Float64Array.from({ length: d }, () => rng.normal());
    const center: Center = { kind: 'side-bias', mean: 0.3, reg: 5, colBias: new Float64Array(0) };
    const rowBias = new Float64Array(n);
    const model = { d, K: new Float64Array(0), lowRank, lambda: 0.1, scale: 1.3, alpha: 0.5, transposed: false, keys: new KeyDictionary(), center: { ...center, bias: new Float64Array(0) }, bias };
    const pr = Int32Array.from({ length: 90 }, (_, e) => e % n);
    const pc = Int32Array.from({ length: 90 }, () => Math.floor(rng.uniform() * d));
    const remote = new HereRemote();
    const got = await foldOnCluster(remote, { jobDir: join(root, 'job-side'), model, center, rowBias, observed, pairs: { rows: pr, cols: pc }, topK: 2, chunkEntries: 20 });
    expect(remote.tasks).toBeGreaterThanOrEqual(3);
    const local = predictWithModel(foldModel(model as unknown as StoredModel), observed, pr, pc);
    expect(got.pred).toEqual(local);
    expect(got.top).toEqual(foldInTopK(model as unknown as StoredModel, observed, 2, { rows: null, candidates: null, excludeSeen: true, center, rowBias }));
    // the reference: K = U diag(w) U^T + tauK I, (K_OO + lambda I) a = y / scale - b_O / scale, prediction scale K_jO a + b_j
    const Kd = new Matrix(d, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let v = i === j ? lowRank.tauK : 0;
      for (let r = 0; r < k; r++) v += U[i * k + r]! * lowRank.w[r]! * U[j * k + r]!;
      Kd.set(i, j, v);
    }
    for (let e = 0; e < pr.length; e++) {
      const i = pr[e]!;
      const O = Array.from(observed.colIdx.subarray(observed.rowPtr[i]!, observed.rowPtr[i + 1]!));
      const y = O.map((j, q) => observed.values[observed.rowPtr[i]! + q]! / 1.3 - bias[j]! / 1.3);
      const at = O.indexOf(pc[e]!);
      if (O.length === 0) continue;
      const M = new Matrix(O.length, O.length);
      O.forEach((a, p) => O.forEach((b, q) => M.set(p, q, Kd.get(a, b) + (p === q ? 0.1 : 0))));
      const coef = solve(M, Matrix.columnVector(y)).to1DArray();
      const want = at >= 0 ? observed.values[observed.rowPtr[i]! + at]! : 1.3 * O.reduce((s, j, q) => s + Kd.get(pc[e]!, j) * coef[q]!, 0) + bias[pc[e]!]!;
      expect(Math.abs(local[e]! - want), `pair ${e}`).toBeLessThan(1e-10);
    }
  });
});
