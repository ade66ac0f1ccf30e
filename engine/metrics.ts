// What a completion is scored by: rating errors over (row, col) pairs with a known value, and
// ranking quality of top-k lists against held-out relevant items (the measures recommender users
// report: precision, recall, NDCG and MAP at k, catalogue coverage).

/** Errors of predictions against known values, with how many pairs could be scored. */
export interface RatingMetrics {
  /** Pairs with a known value. */
  pairs: number;
  /** Of those, the pairs with a finite prediction (the scored ones). */
  predicted: number;
  /** Pairs whose prediction is missing or not finite (keys unseen in training: cold start). */
  unpredicted: number;
  /** predicted / pairs. */
  coverage: number;
  rmse: number;
  mae: number;
}

/**
 * RMSE and MAE over the pairs whose prediction is finite; pred[e] is NaN for a pair without one.
 * NaN errors when no pair is scored.
 */
export function ratingMetrics(truth: Float64Array, pred: Float64Array): RatingMetrics {
  if (truth.length !== pred.length) throw new RangeError(`ratingMetrics: ${truth.length} values but ${pred.length} predictions`);
  let n = 0;
  let se = 0;
  let ae = 0;
  for (let e = 0; e < truth.length; e++) {
    const p = pred[e]!;
    if (!Number.isFinite(p)) continue;
    const r = p - truth[e]!;
    se += r * r;
    ae += Math.abs(r);
    n++;
  }
  return {
    pairs: truth.length,
    predicted: n,
    unpredicted: truth.length - n,
    coverage: truth.length > 0 ? n / truth.length : 0,
    rmse: n > 0 ? Math.sqrt(se / n) : Number.NaN,
    mae: n > 0 ? ae / n : Number.NaN,
  };
}

/** Each row's items (entries e with keep(e), all when omitted), as rankingMetrics takes its relevant sets. */
export function itemsByRow(rows: ArrayLike<number>, cols: ArrayLike<number>, keep?: (e: number) => boolean): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (let e = 0; e < rows.length; e++) {
    if (keep !== undefined && !keep(e)) continue;
    const set = out.get(rows[e]!) ?? new Set<number>();
    out.set(rows[e]!, set.add(cols[e]!));
  }
  return out;
}

/** Top-k lists given in long form (row, column, 1-based rank, any order) as each row's columns best first. */
export function listsByRank(rows: ArrayLike<number>, cols: ArrayLike<number>, ranks: ArrayLike<number>): Map<number, number[]> {
  const byRow = new Map<number, number[]>();
  for (let e = 0; e < rows.length; e++) {
    const list = byRow.get(rows[e]!) ?? [];
    byRow.set(rows[e]!, list);
    list.push(e);
  }
  const out = new Map<number, number[]>();
  for (const [row, entries] of byRow) out.set(row, entries.sort((a, b) => ranks[a]! - ranks[b]!).map((e) => cols[e]!));
  return out;
}

/** Ranking measures at k, averaged over the rows with at least one relevant item. */
export interface RankingMetrics {
  k: number;
  /** Rows with at least one relevant held-out item (the average runs over these). */
  rows: number;
  /** Of those, rows that had no list (they score 0). */
  rowsWithoutList: number;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  /** Distinct items in all lists (their first k) over the catalogue's size. */
  catalogueCoverage: number;
  itemsRecommended: number;
  catalogue: number;
}

/**
 * Precision@k (hits / k), recall@k (hits / relevant), NDCG@k with binary gains (DCG = sum over hits
 * at rank r of 1 / log2(r + 1), over the DCG of min(relevant, k) hits at the top) and MAP@k (the
 * precision at each hit's rank, summed, over min(relevant, k)), each averaged over the rows with at
 * least one relevant item; a row without a list scores 0. `lists.get(row)` is the row's items best
 * first (only the first k count); `relevant.get(row)` its relevant held-out items.
 */
export function rankingMetrics(lists: Map<number, number[]>, relevant: Map<number, Set<number>>, k: number, catalogue: number): RankingMetrics {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`rankingMetrics: k = ${k}, must be an integer >= 1`);
  let rows = 0;
  let without = 0;
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let map = 0;
  for (const [row, rel] of relevant) {
    if (rel.size === 0) continue;
    rows++;
    const list = lists.get(row);
    if (list === undefined) {
      without++;
      continue;
    }
    let hits = 0;
    let dcg = 0;
    let ap = 0;
    const top = Math.min(k, list.length);
    for (let r = 0; r < top; r++) {
      if (!rel.has(list[r]!)) continue;
      hits++;
      dcg += 1 / Math.log2(r + 2);
      ap += hits / (r + 1);
    }
    let idcg = 0;
    const ideal = Math.min(rel.size, k);
    for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
    precision += hits / k;
    recall += hits / rel.size;
    ndcg += dcg / idcg;
    map += ap / ideal;
  }
  const items = new Set<number>();
  for (const list of lists.values()) for (let r = 0; r < Math.min(k, list.length); r++) items.add(list[r]!);
  const avg = (x: number): number => (rows > 0 ? x / rows : Number.NaN);
  return {
    k, rows, rowsWithoutList: without,
    precision: avg(precision), recall: avg(recall), ndcg: avg(ndcg), map: avg(map),
    catalogueCoverage: catalogue > 0 ? items.size / catalogue : Number.NaN, itemsRecommended: items.size, catalogue,
  };
}
