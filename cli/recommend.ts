// Top-k recommendations by fold-in with a saved model: `predict --top-k K` for every row of the
// input, and `lin-rfm recommend` for the rows listed in a file (known rows, no refit). Each row is
// solved from its observed entries with the model's kernel, as complete solves it at the end of a
// run, so recommend gives complete --top-k's lists for those rows.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { KeyDictionary } from '../io/key-dictionary.ts';
import { readModel, type StoredModel } from '../io/model.ts';
import { centered, clipTo, rowBiases, type Center } from '../engine/center.ts';
import { csrFromTriplets, type Csr } from '../engine/csr.ts';
import type { LinRfmModel } from '../engine/options.ts';
import { csrRows, FOLD_ROWS, topKOfRows } from '../engine/prediction.ts';
import { isParquet, readObserved } from '../pipeline/inputs.ts';
import { topKCollector, writeKeyedTable, type TopKLists } from '../pipeline/outputs.ts';
import { openOutputFolder } from '../pipeline/outdir.ts';
import { peakRssBytes, VERSION } from './report.ts';
import { withInput } from '../pipeline/stdin.ts';


export interface FoldInTopK {
  /** The rows (indices into `observed`) to list; all of them when null. */
  rows: Int32Array | null;
  /** The model's columns that may be recommended; all when null. */
  candidates: Int32Array | null;
  /** Leave out a row's observed columns (the default everywhere). */
  excludeSeen: boolean;
  center: Center;
  rowBias: Float64Array;
}

/**
 * Each listed row's k highest predicted columns (in the data's units, with the centering's offsets),
 * ties to the lower column, as complete's topKPerRow orders them; `observed` holds the rows' entries
 * in the model's columns after centering. A chunk of rows at a time.
 */
/** The engine's model of a stored one, for folding rows in (its kernel on the columns). */
export function foldModel(model: StoredModel): LinRfmModel {
  return {
    d: model.d, K: model.K, lowRank: model.lowRank, lambda: model.lambda, scale: model.scale, transposed: false, alpha: model.alpha,
    ...(model.bias === undefined ? {} : { bias: model.bias }),
  };
}

export function foldInTopK(model: StoredModel, observed: Csr, k: number, o: FoldInTopK): TopKLists {
  const rows = o.rows ?? Int32Array.from({ length: observed.nRows }, (_, i) => i);
  const cands = o.candidates ?? Int32Array.from({ length: model.d }, (_, j) => j);
  const lm = foldModel(model);
  const out = topKCollector();
  for (let c0 = 0; c0 < rows.length; c0 += FOLD_ROWS) {
    const chunk = rows.subarray(c0, Math.min(rows.length, c0 + FOLD_ROWS));
    // the chunk's rows as a CSR of their own, so a call costs the chunk, not the input
    const sub = csrRows(observed, chunk);
    const rowBias = Float64Array.from(chunk, (i) => o.rowBias[i]!);
    topKOfRows(lm, sub, rowBias, o.center, cands, k, o.excludeSeen, (q, col, score, rank) => out.add(chunk[q]!, col, score, rank));
  }
  return out.lists();
}

/** The observed entries of an input in a model's columns, centred as training centred them. */
export async function foldInInput(
  model: StoredModel, input: string, columns: { rowKey: string; colKey: string; valueKey: string; delimiter?: string | undefined }, duplicates: 'error' | 'last' | 'mean',
): Promise<{ rowKeys: KeyDictionary; observed: Csr; center: Center; rowBias: Float64Array; dropped: number; nnz: number }> {
  if (model.transposed) {
    throw Errors.BadData('model.json', 'transposed', `this model's kernel is on the training input's rows (it had more columns than rows); fold-in of rows needs a kernel on the columns`);
  }
  const tri = await readObserved(input, columns, duplicates);
  // observed entries of columns the model has never seen cannot enter the solve: dropped, and counted
  const colMap = Int32Array.from({ length: tri.colKeys.size }, (_, c) => model.keys.get(tri.colKeys.key(c)));
  const keep: number[] = [];
  for (let e = 0; e < tri.nnz; e++) if (colMap[tri.cols[e]!]! >= 0) keep.push(e);
  const raw = csrFromTriplets(tri.rowKeys.size, model.d, keep.length, Int32Array.from(keep, (e) => tri.rows[e]!), Int32Array.from(keep, (e) => colMap[tri.cols[e]!]!), Float64Array.from(keep, (e) => tri.values[e]!));
  const center: Center = { kind: model.center.kind, mean: model.center.mean, reg: model.center.reg, colBias: model.center.bias };
  const rowBias = rowBiases(raw, center, new Float64Array(raw.nRows));
  return { rowKeys: tri.rowKeys, observed: centered(raw, center, rowBias), center, rowBias, dropped: tri.nnz - keep.length, nnz: tri.nnz };
}

/** Keys listed in a CSV's first column after a header line, as indices of `dict`; a key it lacks is an error naming the line. */
export function readKeyList(path: string, dict: KeyDictionary, what: string): Int32Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw Errors.MissingInput(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message, { cause: err });
  }
  const lines = text.split(/\r?\n/);
  const out: number[] = [];
  for (let l = 1; l < lines.length; l++) {
    const key = lines[l]!.split(',')[0]!.trim();
    if (key === '') continue;
    const j = dict.get(key);
    if (j < 0) throw Errors.BadData(path, `line ${l + 1}`, `${what} "${key}" is not known`);
    out.push(j);
  }
  if (out.length === 0) throw Errors.BadData(path, '', `no ${what}s listed (a header line, then one key a line)`);
  return Int32Array.from(out);
}

export interface RecommendFlags {
  model: string;
  input: string;
  rows: string;
  topK: number;
  output: string;
  candidates?: string;
  includeSeen?: boolean;
  clip?: [number, number];
  rowKey?: string;
  colKey?: string;
  valueKey?: string;
  format?: 'csv' | 'parquet';
}

export async function cmdRecommend(flags: RecommendFlags): Promise<void> {
  // standard input (--input -) is copied into OUTPUT/spill first, and read from there
  await withInput(flags.input, join(resolve(flags.output), 'spill'), (input, name) => recommend({ ...flags, input }, name));
}

async function recommend(f: RecommendFlags, inputName: string): Promise<void> {
  const t0 = performance.now();
  const model = readModel(f.model);
  const columns = { rowKey: f.rowKey ?? 'row', colKey: f.colKey ?? 'col', valueKey: f.valueKey ?? 'value' };
  const fold = await foldInInput(model, f.input, columns, 'error');
  const rows = readKeyList(f.rows, fold.rowKeys, 'row');
  const candidates = f.candidates === undefined ? null : readKeyList(f.candidates, model.keys, 'column');
  const top = foldInTopK(model, fold.observed, f.topK, { rows, candidates, excludeSeen: f.includeSeen !== true, center: fold.center, rowBias: fold.rowBias });
  const outDir = resolve(f.output);
  const format = f.format ?? (isParquet(f.input) ? 'parquet' : 'csv');
  const folder = openOutputFolder(outDir, 'lin-rfm recommend', (m) => process.stderr.write(`lin-rfm: warning: ${m}\n`), ['topk.csv', 'topk.parquet', 'report.json']);
  try {
    const path = join(folder.staging, `topk.${format}`);
    await writeKeyedTable(path, format, columns, [Array.from(top.rows, (i) => fold.rowKeys.key(i)), Array.from(top.cols, (j) => model.keys.key(j))],
      [{ name: 'score', values: clipTo(f.clip, top.scores.slice()) }, { name: 'rank', values: top.ranks }]);
    const report = {
      command: 'recommend', version: VERSION, model: resolve(f.model), input: { file: inputName, observed: fold.nnz, droppedUnknownColumns: fold.dropped },
      rows: rows.length, candidates: candidates?.length ?? model.d, topK: f.topK, excludeSeen: f.includeSeen !== true,
      totalSeconds: (performance.now() - t0) / 1000, peakRssBytes: peakRssBytes(), outputs: { topk: folder.final(path) },
    };
    await writeFileAtomic(join(folder.staging, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    folder.publish();
  } finally {
    folder.close();
  }
  process.stdout.write(`wrote ${join(outDir, `topk.${format}`)}: ${f.topK} columns for each of ${rows.length} rows\n`);
}
