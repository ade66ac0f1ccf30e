// Parquet load speed: parquet-wasm's raw row-group decode vs readTripletsParquet (keys mapped, checked), on 1M rows.

import { mkdirSync, mkdtempSync, openAsBlob, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { readTripletsCsv, readTripletsParquet, writeCsvAtomic, writeFileAtomic } from '../pipeline/index.ts';

interface Flags {
  rows: number;
  rowGroup: number;
  reps: number;
  seed: number;
  csv: boolean;
}

function parse(args: string[]): Flags {
  const f: Flags = { rows: 1_000_000, rowGroup: 131_072, reps: 3, seed: 1, csv: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === '--rows' && v) (f.rows = Number(v)), i++;
    else if (a === '--row-group' && v) (f.rowGroup = Number(v)), i++;
    else if (a === '--reps' && v) (f.reps = Number(v)), i++;
    else if (a === '--seed' && v) (f.seed = Number(v)), i++;
    else if (a === '--no-csv') f.csv = false;
    else throw new Error(`parquet-load: unknown flag ${a}`);
  }
  if (!(f.rows >= 1 && f.rowGroup >= 1 && f.reps >= 1)) throw new Error('parquet-load: --rows, --row-group and --reps must be >= 1');
  return f;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Data {
  rows: BigInt64Array;
  cols: Int32Array;
  values: Float64Array;
  valueSum: number;
  rowCount: number;
  colCount: number;
}

/**
 * Recommender-shaped data: 20 ratings per user, 20,000 items, user ids as large int64, entries in a
 * shuffled order (the worst case for key lookups). Pairs are distinct by construction.
 */
function generate(n: number, seed: number): Data {
  const rand = mulberry32(seed);
  const perRow = 20;
  const colCount = 20_000;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const rows = new BigInt64Array(n);
  const cols = new Int32Array(n);
  const values = new Float64Array(n);
  let valueSum = 0;
  for (let k = 0; k < n; k++) {
    const e = order[k];
    const r = Math.floor(e / perRow);
    rows[k] = 1_000_000_000_000n + BigInt(r) * 7n;
    // 1009 * j mod 20000 differs for j < 20, so a row's items are distinct.
    cols[k] = (r * 37 + (e % perRow) * 1009) % colCount;
    values[k] = Math.round(rand() * 8 + 1) / 2;
    valueSum += values[k];
  }
  return { rows, cols, values, valueSum, rowCount: Math.ceil(n / perRow), colCount };
}

function parquetBytes(d: Data, rowGroup: number): Uint8Array {
  const fields = [new Field('row', new Int64(), false), new Field('col', new Int32(), false), new Field('value', new Float64(), false)];
  const n = d.rows.length;
  const children = [
    makeData({ type: new Int64(), length: n, nullCount: 0, data: d.rows }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: d.cols }),
    makeData({ type: new Float64(), length: n, nullCount: 0, data: d.values }),
  ];
  const schema = new Schema(fields);
  const table = new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }))]);
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).setMaxRowGroupSize(rowGroup).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}

/** parquet-wasm alone: every row group decoded and brought into JS as Arrow, nothing else. */
async function rawRead(path: string): Promise<{ rows: number; check: number }> {
  const file = await pw.ParquetFile.fromFile(await openAsBlob(path));
  try {
    const groups = file.metadata().numRowGroups();
    let rows = 0;
    let check = 0;
    for (let g = 0; g < groups; g++) {
      // Same batch size and projection as readTripletsParquet asks for.
      const wasm = await file.read({ rowGroups: [g], columns: ['row', 'col', 'value'], batchSize: 1 << 16 });
      const table = tableFromIPC(wasm.intoIPCStream());
      rows += table.numRows;
      const values = table.batches[0]!.data.children[2]!.values as Float64Array;
      check += values[0]!;
    }
    return { rows, check };
  } finally {
    file.free();
  }
}

async function best<T>(reps: number, body: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  let seconds = Infinity;
  let result: T | undefined;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    result = await body();
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  return { seconds, result: result as T };
}

export async function run(args: string[]): Promise<void> {
  const flags = parse(args);
  const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-bench-load-'));
  try {
    const data = generate(flags.rows, flags.seed);
    const path = join(dir, 'ratings.parquet');
    writeFileSync(path, parquetBytes(data, flags.rowGroup));
    const fileBytes = statSync(path).size;
    const rowGroups = Math.ceil(flags.rows / flags.rowGroup);
    process.stderr.write(`parquet-load: ${flags.rows} rows, ${rowGroups} row groups, ${(fileBytes / 1e6).toFixed(1)} MB (ZSTD), seed ${flags.seed}\n`);

    const raw = await best(flags.reps, () => rawRead(path));
    if (raw.result.rows !== flags.rows) throw new Error(`parquet-load: raw read gave ${raw.result.rows} rows, expected ${flags.rows}`);

    const ours = await best(flags.reps, () => readTripletsParquet(path));
    const t = ours.result;
    let sum = 0;
    for (let i = 0; i < t.nnz; i++) sum += t.values[i]!;
    if (t.nnz !== flags.rows || sum !== data.valueSum || t.rowKeys.size !== data.rowCount) {
      throw new Error(`parquet-load: readTripletsParquet gave nnz ${t.nnz}, value sum ${sum}, ${t.rowKeys.size} rows; expected ${flags.rows}, ${data.valueSum}, ${data.rowCount}`);
    }

    let csv: { seconds: number; rowsPerSecond: number; fileBytes: number } | null = null;
    if (flags.csv) {
      const csvPath = join(dir, 'ratings.csv');
      const n = flags.rows;
      await writeCsvAtomic(csvPath, ['row', 'col', 'value'], (function* () {
        for (let i = 0; i < n; i++) yield [String(data.rows[i]), data.cols[i]!, data.values[i]!];
      })());
      const c = await best(flags.reps, () => readTripletsCsv(csvPath));
      if (c.result.nnz !== n) throw new Error(`parquet-load: readTripletsCsv gave ${c.result.nnz} rows`);
      csv = { seconds: c.seconds, rowsPerSecond: n / c.seconds, fileBytes: statSync(csvPath).size };
    }

    const rawRate = flags.rows / raw.seconds;
    const ourRate = flags.rows / ours.seconds;
    const fmt = (r: number): string => `${(r / 1e6).toFixed(2)} M rows/s`;
    process.stdout.write(
      `raw parquet-wasm decode:  ${fmt(rawRate)} (${raw.seconds.toFixed(3)} s)\n` +
        `readTripletsParquet:      ${fmt(ourRate)} (${ours.seconds.toFixed(3)} s)\n` +
        `ratio ours / raw:         ${(ourRate / rawRate).toFixed(2)}\n` +
        (csv ? `readTripletsCsv:          ${fmt(csv.rowsPerSecond)} (${csv.seconds.toFixed(3)} s, ${(csv.fileBytes / 1e6).toFixed(1)} MB)\n` : ''),
    );

    const results = {
      bench: 'load',
      date: new Date().toISOString(),
      node: process.version,
      rows: flags.rows,
      rowGroupSize: flags.rowGroup,
      rowGroups,
      parquetBytes: fileBytes,
      compression: 'ZSTD',
      seed: flags.seed,
      reps: flags.reps,
      raw: { seconds: raw.seconds, rowsPerSecond: rawRate },
      readTripletsParquet: { seconds: ours.seconds, rowsPerSecond: ourRate },
      ratio: ourRate / rawRate,
      readTripletsCsv: csv,
    };
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
    mkdirSync(out, { recursive: true });
    await writeFileAtomic(join(out, 'load.json'), JSON.stringify(results, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
