// Finds a repeated (row, col) pair among loaded triplets, for the reader's duplicate check.

/**
 * Returns [earlier, later] entry indices of the repeated pair whose later entry comes first in
 * entry order (what a line-by-line check would have reported), or null if all pairs are distinct.
 *
 * A hash set of pairs during loading cost ~0.4 us per entry here (a cache and TLB miss per insert
 * into a table of tens of MB); a stable counting sort by row followed by a per-row sweep with a
 * column mark array streams through memory instead and is ~15x faster. The mark holds the sorted
 * position of a column's last sighting, so "seen in this row" is just mark >= the row's start and
 * the array never needs clearing.
 */
export function findDuplicatePair(
  nrows: number,
  ncols: number,
  n: number,
  rows: Int32Array,
  cols: Int32Array,
): [number, number] | null {
  const rowStart = new Int32Array(nrows + 1);
  for (let i = 0; i < n; i++) rowStart[rows[i] + 1]++;
  for (let r = 0; r < nrows; r++) rowStart[r + 1] += rowStart[r];
  const next = rowStart.slice(0, nrows);
  const sortedCol = new Int32Array(n);
  const sortedEntry = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = next[rows[i]]++;
    sortedCol[p] = cols[i];
    sortedEntry[p] = i;
  }
  const mark = new Int32Array(ncols).fill(-1);
  let later = -1;
  let earlier = -1;
  for (let r = 0; r < nrows; r++) {
    const lo = rowStart[r];
    const hi = rowStart[r + 1];
    for (let p = lo; p < hi; p++) {
      const c = sortedCol[p];
      const seen = mark[c];
      if (seen < lo) {
        mark[c] = p;
      } else if (later < 0 || sortedEntry[p] < later) {
        // Stable sort: the first sighting in this row is the earliest entry with this pair.
        later = sortedEntry[p];
        earlier = sortedEntry[seen];
      }
    }
  }
  return later < 0 ? null : [earlier, later];
}

/**
 * Merges repeated (row, col) pairs: 'last' keeps the value given last (in entry order), 'mean' their
 * average. Returns new arrays (entry order of first sightings kept) and how many entries merged away.
 */
export function mergeDuplicatePairs(
  n: number,
  rows: Int32Array,
  cols: Int32Array,
  values: Float64Array,
  nrows: number,
  ncols: number,
  policy: 'last' | 'mean',
): { rows: Int32Array<ArrayBuffer>; cols: Int32Array<ArrayBuffer>; values: Float64Array<ArrayBuffer>; nnz: number; merged: number } {
  // stable counting sort by row, then a column mark per row, as findDuplicatePair
  const rowStart = new Int32Array(nrows + 1);
  for (let i = 0; i < n; i++) rowStart[rows[i]! + 1]!++;
  for (let r = 0; r < nrows; r++) rowStart[r + 1]! += rowStart[r]!;
  const next = rowStart.slice(0, nrows);
  const sorted = new Int32Array(n);
  for (let i = 0; i < n; i++) sorted[next[rows[i]!]!++] = i;
  const firstOf = new Int32Array(n).fill(-1); // entry -> the first entry of its pair
  const mark = new Int32Array(ncols).fill(-1);
  for (let r = 0; r < nrows; r++) {
    for (let p = rowStart[r]!; p < rowStart[r + 1]!; p++) {
      const e = sorted[p]!;
      const c = cols[e]!;
      const seen = mark[c]!;
      if (seen >= rowStart[r]!) firstOf[e] = sorted[seen]!;
      else mark[c] = p;
    }
  }
  const sum = Float64Array.from(values.subarray(0, n));
  const count = new Float64Array(n).fill(1);
  let merged = 0;
  for (let e = 0; e < n; e++) {
    const f = firstOf[e]!;
    if (f < 0) continue;
    merged++;
    if (policy === 'last') sum[f] = values[e]!;
    else {
      sum[f] += values[e]!;
      count[f]++;
    }
  }
  const m = n - merged;
  const outRows = new Int32Array(m);
  const outCols = new Int32Array(m);
  const outValues = new Float64Array(m);
  let k = 0;
  for (let e = 0; e < n; e++) {
    if (firstOf[e]! >= 0) continue;
    outRows[k] = rows[e]!;
    outCols[k] = cols[e]!;
    outValues[k++] = policy === 'mean' ? sum[e]! / count[e]! : sum[e]!;
  }
  return { rows: outRows, cols: outCols, values: outValues, nnz: m, merged };
}
