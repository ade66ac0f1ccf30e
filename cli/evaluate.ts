// `lin-rfm evaluate`: predictions and top-k lists (CSV or Parquet, as complete and predict write
// them) scored against held-out truth, keys matched by their text: RMSE, MAE and coverage, and
// precision, recall, NDCG and MAP at k with catalogue coverage; a table on stdout, JSON to a file.

import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { TripletColumns, Triplets } from '../io/entries.ts';
import type { KeyDictionary } from '../io/key-dictionary.ts';
import { itemsByRow, listsByRank, rankingMetrics, ratingMetrics, type RankingMetrics, type RatingMetrics } from '../engine/metrics.ts';
import { isParquet } from '../pipeline/inputs.ts';
import type { TopKLists } from '../pipeline/outputs.ts';
import { readTripletsCsv } from '../io/csv.ts';
import { readTripletsParquet } from '../io/parquet.ts';
import { VERSION } from './report.ts';

/** The flags of `evaluate` (not job settings: it runs no completion). */
export interface EvaluateFlags {
  truth: string;
  predictions?: string;
  topK?: string;
  k?: number;
  relevantMin?: number;
  catalogue?: number;
  rowKey?: string;
  colKey?: string;
  valueKey?: string;
  predictionKey?: string;
  json?: string;
}

export interface Evaluation {
  command: 'evaluate';
  version: string;
  truth: string;
  predictions: string | null;
  topK: string | null;
  rating: RatingMetrics | null;
  ranking: (RankingMetrics & { relevantMin: number | null }) | null;
}

export async function readTable(path: string, opts: TripletColumns): Promise<Triplets> {
  return isParquet(path) ? readTripletsParquet(path, opts) : readTripletsCsv(path, opts);
}

/** (row, col) indices as one number, i * cols + j: exact while rows x cols stays below 2^53. */
const pairKey = (cols: number) => (i: number, j: number): number => i * cols + j;

export async function evaluate(f: EvaluateFlags): Promise<Evaluation> {
  if (f.predictions === undefined && f.topK === undefined) throw Errors.Usage('evaluate: give --predictions FILE, --top-k FILE or both');
  const rowKey = f.rowKey ?? 'row';
  const colKey = f.colKey ?? 'col';
  const truth = await readTable(f.truth, { rowKey, colKey, valueKey: f.valueKey ?? 'value' });
  if (truth.nnz === 0) throw Errors.BadData(f.truth, '', 'no entries to score against');
  const keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary } = { rowKeys: truth.rowKeys, colKeys: truth.colKeys };
  const truthRows = truth.rowKeys.size;
  const truthCols = truth.colKeys.size;

  let rating: RatingMetrics | null = null;
  if (f.predictions !== undefined) {
    // the predictions' keys interned after the truth's: a key the truth lacks gets an index past them
    const pred = await readTable(f.predictions, { rowKey, colKey, valueKey: f.predictionKey ?? 'prediction', keys, nan: 'keep' });
    const key = pairKey(keys.colKeys.size);
    const byPair = new Map<number, number>();
    for (let e = 0; e < pred.nnz; e++) {
      if (pred.rows[e]! < truthRows && pred.cols[e]! < truthCols) byPair.set(key(pred.rows[e]!, pred.cols[e]!), pred.values[e]!);
    }
    const matched = Float64Array.from({ length: truth.nnz }, (_, e) => byPair.get(key(truth.rows[e]!, truth.cols[e]!)) ?? Number.NaN);
    rating = ratingMetrics(truth.values, matched);
  }

  let ranking: Evaluation['ranking'] = null;
  if (f.topK !== undefined) {
    const top = await readTable(f.topK, { rowKey, colKey, valueKey: 'rank', keys });
    for (let e = 0; e < top.nnz; e++) {
      const rank = top.values[e]!;
      if (!(Number.isInteger(rank) && rank >= 1)) throw Errors.BadData(f.topK, `entry ${e + 1}, column "rank"`, `${rank} is not a rank (an integer >= 1)`);
    }
    const ordered = listsByRank(top.rows, top.cols, top.values);
    const k = f.k ?? [...ordered.values()].reduce((m, l) => Math.max(m, l.length), 0);
    if (k < 1) throw Errors.BadData(f.topK, '', 'no recommendations');
    const min = f.relevantMin;
    const relevant = itemsByRow(truth.rows, truth.cols, min === undefined ? undefined : (e) => truth.values[e]! >= min);
    const catalogue = f.catalogue ?? keys.colKeys.size;
    ranking = { ...rankingMetrics(ordered, relevant, k, catalogue), relevantMin: f.relevantMin ?? null };
  }
  return { command: 'evaluate', version: VERSION, truth: f.truth, predictions: f.predictions ?? null, topK: f.topK ?? null, rating, ranking };
}

/**
 * complete --evaluate: the run's predictions (in the data's units) for the truth's pairs, a pair
 * with a key the run never saw counting as unpredicted, and its top-k lists against the truth's
 * items of each row (all relevant), the catalogue being the run's columns.
 */
export async function evaluateRun(
  path: string, columns: { rowKey: string; colKey: string; valueKey: string; delimiter?: string | undefined }, keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary },
  predict: (rows: Int32Array, cols: Int32Array) => Float64Array, top: TopKLists | null, k: number | undefined,
): Promise<{ truth: string; rating: RatingMetrics; ranking: RankingMetrics | null }> {
  const truth = await readTable(path, columns);
  if (truth.nnz === 0) throw Errors.BadData(path, '', 'no entries to score against');
  const rowOf = Int32Array.from({ length: truth.rowKeys.size }, (_, i) => keys.rowKeys.get(truth.rowKeys.key(i)));
  const colOf = Int32Array.from({ length: truth.colKeys.size }, (_, j) => keys.colKeys.get(truth.colKeys.key(j)));
  const known: number[] = [];
  for (let e = 0; e < truth.nnz; e++) if (rowOf[truth.rows[e]!]! >= 0 && colOf[truth.cols[e]!]! >= 0) known.push(e);
  const pred = new Float64Array(truth.nnz).fill(Number.NaN);
  const got = predict(Int32Array.from(known, (e) => rowOf[truth.rows[e]!]!), Int32Array.from(known, (e) => colOf[truth.cols[e]!]!));
  known.forEach((e, q) => { pred[e] = got[q]!; });
  const rating = ratingMetrics(truth.values, pred);
  if (top === null || k === undefined) return { truth: path, rating, ranking: null };
  // the truth's rows and items by the run's indices; a key the run never saw gets a number of its own below 0
  const rows = Int32Array.from({ length: truth.nnz }, (_, e) => (rowOf[truth.rows[e]!]! >= 0 ? rowOf[truth.rows[e]!]! : -1 - truth.rows[e]!));
  const cols = Int32Array.from({ length: truth.nnz }, (_, e) => (colOf[truth.cols[e]!]! >= 0 ? colOf[truth.cols[e]!]! : -1 - truth.cols[e]!));
  return { truth: path, rating, ranking: rankingMetrics(listsByRank(top.rows, top.cols, top.ranks), itemsByRow(rows, cols), k, keys.colKeys.size) };
}

/** The evaluation as a short table. */
export function evaluationTable(ev: Evaluation): string {
  const lines: string[] = [];
  const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  if (ev.rating !== null) {
    const r = ev.rating;
    lines.push(`RMSE ${num(r.rmse)}  MAE ${num(r.mae)}  over ${r.predicted} of ${r.pairs} pairs (coverage ${(100 * r.coverage).toFixed(1)}%, ${r.unpredicted} without a prediction)`);
  }
  if (ev.ranking !== null) {
    const m = ev.ranking;
    const rel = m.relevantMin === null ? 'every held-out item relevant' : `relevant: value >= ${m.relevantMin}`;
    lines.push(`at k = ${m.k} over ${m.rows} rows (${rel}; ${m.rowsWithoutList} without a list):`);
    lines.push(`  precision ${num(m.precision)}  recall ${num(m.recall)}  NDCG ${num(m.ndcg)}  MAP ${num(m.map)}`);
    lines.push(`  catalogue coverage ${num(m.catalogueCoverage)} (${m.itemsRecommended} of ${m.catalogue} items)`);
  }
  return lines.join('\n') + '\n';
}

export async function cmdEvaluate(f: EvaluateFlags): Promise<void> {
  const ev = await evaluate(f);
  process.stdout.write(evaluationTable(ev));
  if (f.json !== undefined) await writeFileAtomic(f.json, JSON.stringify(ev, null, 2) + '\n');
}
