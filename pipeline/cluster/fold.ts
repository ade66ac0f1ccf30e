// predict's fold-in on the cluster: the coordinator writes the folded-in rows (their observed
// entries and the pairs asked of them) as chunk files into the shared storage and sends one `fold`
// task per chunk; a worker solves the chunk's rows with the model's kernel, predicts their pairs and
// ranks their best columns with the very functions predict runs here (engine/prediction.ts), so the
// predictions and lists are the same bytes as a local predict.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Center } from '../../engine/center.ts';
import type { Csr } from '../../engine/csr.ts';
import type { LinRfmModel } from '../../engine/options.ts';
import { csrRows, FOLD_ROWS, predictWithModel, rowOrder, topKOfRows } from '../../engine/prediction.ts';
import { writeChunk } from '../../io/chunks.ts';
import type { RemoteChunk, RemotePass } from '../blocks.ts';
import { topKCollector, type TopKLists } from '../outputs.ts';
import type { RemoteSolves } from '../run.ts';
import type { Task } from './protocol.ts';

type FoldTask = Extract<Task, { kind: 'fold' }>;

/** What a fold task reads of its chunk: the rows' observed entries (chunk-local rows) and the pairs asked, ascending by row. */
export interface FoldChunk {
  train: Csr;
  valRow: Int32Array;
  valCol: Int32Array;
}

/**
 * A worker's fold task: the chunk's pairs predicted (centred, as predictWithModel gives them), then
 * per row its topK (column, score) pairs, column -1 where a row has fewer candidates. Rows go
 * FOLD_ROWS at a time, the event loop given a turn between them (the task's lock is renewed there).
 */
export async function foldChunk(t: FoldTask, c: FoldChunk, op: Float64Array, rowBias: Float64Array): Promise<Float64Array> {
  const { d, k } = t;
  const kernelLen = k === 0 ? d * d : d * k + k;
  // after the kernel: a 'bias' centering's column biases, or the model's side biases (engine/side-bias.ts)
  const side = t.center.kind === 'side-bias';
  const model: LinRfmModel = {
    d, K: k === 0 ? op.subarray(0, d * d) : new Float64Array(0), lambda: t.lambda, scale: t.scale, transposed: false, alpha: 1,
    ...(k === 0 ? {} : { lowRank: { d, k, U: op.subarray(0, d * k), w: op.subarray(d * k, d * k + k), tauK: t.tauK } }),
    ...(side ? { bias: op.subarray(kernelLen) } : {}),
  };
  const center: Center = { ...t.center, colBias: side ? new Float64Array(0) : op.subarray(kernelLen) };
  const out = new Float64Array(t.nVal + 2 * t.rows * t.topK).fill(-1);
  const cands = Int32Array.from({ length: d }, (_, j) => j);
  let e0 = 0;
  for (let r0 = 0; r0 < t.rows; r0 += FOLD_ROWS) {
    const r1 = Math.min(t.rows, r0 + FOLD_ROWS);
    const sub = csrRows(c.train, Int32Array.from({ length: r1 - r0 }, (_, q) => r0 + q));
    let e1 = e0;
    while (e1 < t.nVal && c.valRow[e1]! < r1) e1++;
    if (e1 > e0) {
      const pr = Int32Array.from(c.valRow.subarray(e0, e1), (i) => i - r0);
      predictWithModel(model, sub, pr, c.valCol.subarray(e0, e1), out.subarray(e0, e1));
    }
    e0 = e1;
    if (t.topK > 0) {
      topKOfRows(model, sub, rowBias.subarray(r0, r1), center, cands, t.topK, true, (q, col, score, rank) => {
        const at = t.nVal + 2 * ((r0 + q) * t.topK + rank - 1);
        out[at] = col;
        out[at + 1] = score;
      });
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}

export interface FoldJob {
  /** The job's directory in the shared storage (the chunk files go there). */
  jobDir: string;
  model: Pick<LinRfmModel, 'd' | 'K' | 'lowRank' | 'lambda' | 'scale' | 'bias'>;
  center: Center;
  /** The folded-in rows' biases (centering 'bias'), one a row of `observed`. */
  rowBias: Float64Array;
  /** The rows folded in: their observed entries in the model's columns, centred. */
  observed: Csr;
  /** Pairs to predict (rows of `observed`, the model's columns; -1 for a key never seen), or null. */
  pairs: { rows: Int32Array; cols: Int32Array } | null;
  /** Columns listed a row (0: none). */
  topK: number;
  /** Entries (observed and pairs) a chunk, at least one row. */
  chunkEntries: number;
}

/**
 * predict's fold-in as one pass of tasks: the pairs' predictions (NaN for a pair with an unknown
 * key, as predictWithModel gives them) and every row's top-k list, as a local predict makes them.
 */
export async function foldOnCluster(remote: RemoteSolves, j: FoldJob): Promise<{ pred: Float64Array | null; top: TopKLists | null }> {
  const { observed: m, model, topK } = j;
  const n = m.nRows;
  const d = model.d;
  // the pairs grouped by row, in their order within a row
  const pairs = j.pairs ?? { rows: new Int32Array(0), cols: new Int32Array(0) };
  const pred = j.pairs === null ? null : new Float64Array(pairs.rows.length).fill(Number.NaN);
  const ok = (e: number): boolean => pairs.rows[e]! >= 0 && pairs.rows[e]! < n && pairs.cols[e]! >= 0 && pairs.cols[e]! < d;
  const { start, order } = rowOrder(n, pairs.rows.length, (e) => (ok(e) ? pairs.rows[e]! : -1));
  // chunks of whole rows; a row with nothing joins its neighbours' chunk
  const entries = (i: number): number => m.rowPtr[i + 1]! - m.rowPtr[i]! + start[i + 1]! - start[i]!;
  const chunks: RemoteChunk[] = [];
  mkdirSync(j.jobDir, { recursive: true });
  const cut = (r0: number, r1: number): void => {
    const nTrain = m.rowPtr[r1]! - m.rowPtr[r0]!;
    const nVal = start[r1]! - start[r0]!;
    const nnz = nTrain + nVal;
    const e = { row: new Int32Array(nnz), col: new Int32Array(nnz), value: new Float64Array(nnz), held: new Uint8Array(nnz) };
    let p = 0;
    for (let i = r0; i < r1; i++) {
      for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++, p++) {
        e.row[p] = i - r0;
        e.col[p] = m.colIdx[q]!;
        e.value[p] = m.values[q]!;
      }
      for (let q = start[i]!; q < start[i + 1]!; q++, p++) {
        e.row[p] = i - r0;
        e.col[p] = pairs.cols[order[q]!]!;
        e.held[p] = 1;
      }
    }
    const path = join(j.jobDir, `chunk-${String(chunks.length).padStart(5, '0')}.arrow`);
    writeChunk(path, e);
    chunks.push({ chunk: chunks.length, path, r0, rows: r1 - r0, nnz, nTrain, nVal, ranges: [[0, r1 - r0, 0, nVal]] });
  };
  // a row weighs its entries and its list (2 topK values of the result); a chunk is cut only once
  // it holds some entries and only before a row with entries, so every chunk has some (the task
  // needs them) and a row with none is listed with its neighbours
  let r0 = 0;
  let held = 0;
  let heldEntries = 0;
  for (let i = 0; i < n; i++) {
    const weight = entries(i) + 2 * topK;
    if (heldEntries > 0 && entries(i) > 0 && held + weight > j.chunkEntries) {
      cut(r0, i);
      r0 = i;
      held = 0;
      heldEntries = 0;
    }
    held += weight;
    heldEntries += entries(i);
  }
  // nothing left to send only when no row has anything (the lists are then made here, below)
  if (m.rowPtr[n]! - m.rowPtr[r0]! + start[n]! - start[r0]! > 0) cut(r0, n);
  const top = topKCollector();
  const emit = top.add;
  if (chunks.length === 0 && topK > 0) {
    // rows without entries, listed here as a local predict lists them
    const cands = Int32Array.from({ length: d }, (_, c) => c);
    topKOfRows({ ...model, transposed: false, alpha: 1 }, m, j.rowBias, j.center, cands, topK, true, emit);
  }
  if (chunks.length > 0) {
    const pass: RemotePass = { kind: 'fold', sweep: 0, pass: 0, d, chunks, model, center: j.center, topK, fit: 1, rowBias: j.rowBias };
    await remote.dispatch(pass);
    for (const c of chunks) {
      const out = new Float64Array(c.nVal + 2 * c.rows * topK);
      await remote.collect(c.chunk, out);
      for (let e = 0; e < c.nVal; e++) pred![order[start[c.r0]! + e]!] = out[e]!;
      for (let q = 0; q < c.rows; q++) {
        for (let r = 0; r < topK; r++) {
          const at = c.nVal + 2 * (q * topK + r);
          if (out[at]! < 0) break;
          emit(c.r0 + q, out[at]!, out[at + 1]!, r + 1);
        }
      }
    }
  }
  return {
    pred,
    top: topK === 0 ? null : top.lists(),
  };
}
