// `lin-rfm predict`: fold rows that were not in training in with a saved model, and predict their pairs.

import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { settingsOf, type PredictSettings } from '../config/settings.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readModel, type StoredModel } from '../io/model.ts';
import { centered, clipTo, rowBiases, uncenter, type Center } from '../engine/center.ts';
import { csrFromTriplets } from '../engine/csr.ts';
import { predictWithModel } from '../engine/prediction.ts';
import { readObserved, readPairs } from '../pipeline/inputs.ts';
import { writePredictions } from '../pipeline/outputs.ts';
import { openOutputFolder, type OutputFolder } from '../pipeline/outdir.ts';
import { createProgress, type Progress } from './progress.ts';
import { peakRssBytes, VERSION } from './report.ts';

export async function cmdPredict(settings: Resolved): Promise<void> {
  const s = settingsOf('predict', settings.values);
  const t0 = performance.now();
  const progress = createProgress({ quiet: s.quiet });
  const modelDir = s.model;
  const model = readModel(modelDir);
  if (model.transposed) {
    throw Errors.BadData(join(modelDir, 'model.json'), 'transposed', `this model's kernel is on the training input's rows (it had more columns than rows); fold-in of new rows needs a kernel on the columns`);
  }
  const outDir = resolve(s.output);
  // the same folder rules as complete; a predict run's set is its predictions and report (a model
  // beside them, say the one it reads, stays)
  const folder = openOutputFolder(outDir, 'lin-rfm predict', (m) => progress.warn(m), ['predictions.csv', 'predictions.parquet', 'report.json']);
  try {
    await predictInto(s, settings, t0, folder, model, progress);
  } finally {
    folder.close();
  }
}

async function predictInto(
  s: PredictSettings, settings: Resolved, t0: number, folder: OutputFolder, model: StoredModel, progress: Progress,
): Promise<void> {
  const modelDir = s.model;
  const input = s.input;
  const columns = { rowKey: s.rowKey, colKey: s.colKey, valueKey: s.valueKey, delimiter: s.delimiter };
  const tri = await readObserved(input, columns, s.duplicates, (rows, file, files) =>
    progress.status(`reading ${input}: ${rows.toLocaleString('en-US')} rows${files > 1 ? ` (file ${file + 1} of ${files})` : ''}`));
  const predictPath = s.predict;
  const pairs = await readPairs(predictPath, tri.rowKeys, model.keys, columns);
  // Observed entries of columns the model has never seen cannot enter the solve: drop them, and say so.
  const colMap = new Int32Array(tri.colKeys.size);
  for (let c = 0; c < tri.colKeys.size; c++) colMap[c] = model.keys.get(tri.colKeys.key(c));
  const keep: number[] = [];
  for (let e = 0; e < tri.nnz; e++) if (colMap[tri.cols[e]!]! >= 0) keep.push(e);
  const rows = Int32Array.from(keep, (e) => tri.rows[e]!);
  const cols = Int32Array.from(keep, (e) => colMap[tri.cols[e]!]!);
  const values = Float64Array.from(keep, (e) => tri.values[e]!);
  const raw = csrFromTriplets(tri.rowKeys.size, model.d, keep.length, rows, cols, values);
  const center: Center = { kind: model.center.kind, mean: model.center.mean, reg: model.center.reg, colBias: model.center.bias };
  const rowBias = rowBiases(raw, center, new Float64Array(raw.nRows));
  const observed = centered(raw, center, rowBias);
  const pred = clipTo(s.clip, uncenter(center, rowBias, pairs.rows, pairs.cols, predictWithModel(
    { d: model.d, K: model.K, lowRank: model.lowRank, lambda: model.lambda, scale: model.scale, transposed: false, alpha: model.alpha },
    observed,
    pairs.rows,
    pairs.cols,
  )));
  const staged = await writePredictions(folder.staging, s.format, predictPath, columns, pairs, pred, { policy: s.coldStart, center, rowBias, clip: s.clip });
  const path = folder.final(staged);
  const report = {
    command: 'predict',
    version: VERSION,
    settings,
    model: resolve(modelDir),
    input: { file: resolve(input), rows: tri.rowKeys.size, observed: tri.nnz, droppedUnknownColumns: tri.nnz - keep.length },
    predict: { file: resolve(predictPath), pairs: pairs.n },
    totalSeconds: (performance.now() - t0) / 1000,
    peakRssBytes: peakRssBytes(),
    outputs: { predictions: path },
  };
  await writeFileAtomic(join(folder.staging, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  folder.publish();
  progress.info(`wrote ${path}`);
}
