// The files of a Parquet dataset directory, as every reader of one lists them: the reader, the
// report's fingerprint and a spilled load's check that the input did not change between its passes.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { passesPartitions, type PartitionFilter } from './entries.ts';

/** A data file of a dataset: *.parquet, not hidden (.) and not a job's by-product (_). */
export const PARQUET_FILE = /^[^._].*\.parquet$/i;

/**
 * The Parquet part files under `dir`, nested ones included (Hive-style partitions,
 * `date=2026-12-01/part-0.parquet`, symlinked directories followed), in the order of their paths
 * below it; names starting with `.` or `_` (`_SUCCESS`, `_temporary/`, `.crc` files) are skipped,
 * and with a filter only the files under a matching `key=value` directory are kept.
 */
export function datasetFiles(dir: string, filter?: PartitionFilter, below: string[] = []): string[] {
  const names = readdirSync(dir).filter((n) => !n.startsWith('.') && !n.startsWith('_')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const n of names) {
    const path = join(dir, n);
    if (statSync(path).isDirectory()) out.push(...datasetFiles(path, filter, [...below, n]));
    else if (PARQUET_FILE.test(n) && passesPartitions(below, filter)) out.push(path);
  }
  return out;
}
