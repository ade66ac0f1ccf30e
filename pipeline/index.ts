// The library's public entry point: complete a matrix in this thread or on a worker pool, fold new
// rows in with a model, and read and write the data (CSV, Parquet, models) as the command line does.

export * from '../engine/index.ts';
export { complete, completeAsync, type ParallelOptions, type StorageOptions } from './run.ts';
export { predictWithModel as predict } from '../engine/prediction.ts';
export { SweepPool } from './pool.ts';
export { isParquet, readObserved, readPairs, fingerprint, observedOf, type ObservedRows } from './inputs.ts';
export { topKPerRow, topKPerRowByColumns, writeFull, writeKeyedTable, writePredictions, type ColdStart } from './outputs.ts';
export { readPairsCsv, readTripletsCsv, writeCsvAtomic } from '../io/csv.ts';
export type { EntriesCallback, Pairs, TripletColumns, Triplets } from '../io/entries.ts';
export { countParquetRows, readPairsParquet, readTripletsParquet, writeTableParquetAtomic } from '../io/parquet.ts';
export { KeyDictionary } from '../io/key-dictionary.ts';
export { readModel, writeModel, type StoredModel } from '../io/model.ts';
export { writeFileAtomic } from '../io/atomic.ts';
export { LinRfmError } from '../config/errors.ts';
// The pool's block protocol, for benchmarks that time one phase on the pool.
export { nextOperandKey, type Block, type SweepArrays } from './blocks.ts';
export { gemmRowRanges } from './plan.ts';
