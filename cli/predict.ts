// `lin-rfm predict`: fold rows that were not in training in with a saved model, and predict their pairs.

import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Errors } from '../config/errors.ts';
import type { Resolved } from '../config/load.ts';
import { settingsOf, type PredictSettings } from '../config/settings.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readModel, type StoredModel } from '../io/model.ts';
import { clipTo, uncenter } from '../engine/center.ts';
import { predictWithModel } from '../engine/prediction.ts';
import { isParquet, readPairs } from '../pipeline/inputs.ts';
import { writeKeyedTable, writePredictions } from '../pipeline/outputs.ts';
import { foldInInput, foldInTopK, foldModel } from './recommend.ts';
import { openOutputFolder, type OutputFolder } from '../pipeline/outdir.ts';
import { createProgress, type Progress } from './progress.ts';
import { peakRssBytes, VERSION } from './report.ts';
import { withInput } from '../pipeline/stdin.ts';
import { foldOnCluster } from '../pipeline/cluster/fold.ts';
import { openCluster, type OpenCluster } from './cluster.ts';

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
  // the cluster first: Redis unreachable or refusing the credentials is found before the input is read
  const cluster = await openCluster(s, progress);
  try {
    await predictJob(s, settings, t0, outDir, model, progress, cluster);
  } finally {
    await cluster?.coord.close();
    if (cluster !== undefined) rmSync(cluster.jobDir, { recursive: true, force: true });
  }
}

async function predictJob(
  s: PredictSettings, settings: Resolved, t0: number, outDir: string, model: StoredModel, progress: Progress, cluster: OpenCluster | undefined,
): Promise<void> {
  // the same folder rules as complete; a predict run's set is its predictions and report (a model
  // beside them, say the one it reads, stays)
  const folder = openOutputFolder(outDir, 'lin-rfm predict', (m) => progress.warn(m), ['predictions.csv', 'predictions.parquet', 'report.json', ...(s.topK === undefined ? [] : ['topk.csv', 'topk.parquet'])]);
  try {
    // standard input (--input -) is copied into OUTPUT/spill first, and read from there
    await withInput(s.input, join(outDir, 'spill'), (input, name) => predictInto({ ...s, input }, settings, t0, folder, model, progress, name, cluster));
  } finally {
    folder.close();
  }
}

async function predictInto(
  s: PredictSettings, settings: Resolved, t0: number, folder: OutputFolder, model: StoredModel, progress: Progress, inputName: string,
  cluster: OpenCluster | undefined,
): Promise<void> {
  const modelDir = s.model;
  const input = s.input;
  const columns = { rowKey: s.rowKey, colKey: s.colKey, valueKey: s.valueKey, delimiter: s.delimiter, partitions: s.filter };
  if (s.predict === undefined && s.topK === undefined) throw Errors.Usage('predict: give --predict PAIRS, --top-k K or both');
  progress.status(`reading ${input}`);
  const fold = await foldInInput(model, input, columns, s.duplicates);
  const { center, rowBias, observed } = fold;
  const outputs: Record<string, string> = {};
  const pairs = s.predict === undefined ? null : await readPairs(s.predict, fold.rowKeys, model.keys, columns);
  // on the cluster, the fold-in of every row (pairs and lists) as tasks; the same bytes as here
  const remote = cluster === undefined ? null : await foldOnCluster(cluster.coord, {
    jobDir: cluster.jobDir, model, center, rowBias, observed, pairs, topK: s.topK ?? 0, chunkEntries: s.spillChunk,
  });
  if (s.predict !== undefined && pairs !== null) {
    const raw = remote?.pred ?? predictWithModel(
      foldModel(model),
      observed,
      pairs.rows,
      pairs.cols,
    );
    const pred = clipTo(s.clip, uncenter(center, rowBias, pairs.rows, pairs.cols, raw));
    const staged = await writePredictions(folder.staging, s.format, s.predict, columns, pairs, pred, { policy: s.coldStart, center, rowBias, clip: s.clip });
    outputs['predictions'] = folder.final(staged);
  }
  if (s.topK !== undefined) {
    // every input row's best unobserved columns, ranked by the unclipped scores
    const top = remote?.top ?? foldInTopK(model, observed, s.topK, { rows: null, candidates: null, excludeSeen: true, center, rowBias });
    const format = s.format ?? (isParquet(input) ? 'parquet' : 'csv');
    const path = join(folder.staging, `topk.${format}`);
    await writeKeyedTable(path, format, columns, [Array.from(top.rows, (i) => fold.rowKeys.key(i)), Array.from(top.cols, (j) => model.keys.key(j))],
      [{ name: 'score', values: clipTo(s.clip, top.scores.slice()) }, { name: 'rank', values: top.ranks }]);
    outputs['topk'] = folder.final(path);
  }
  const report = {
    command: 'predict',
    version: VERSION,
    settings,
    model: resolve(modelDir),
    input: { file: inputName, rows: fold.rowKeys.size, observed: fold.nnz, droppedUnknownColumns: fold.dropped },
    predict: s.predict === undefined ? null : { file: resolve(s.predict), pairs: pairs?.n ?? 0 },
    topK: s.topK ?? null,
    cluster: cluster?.summary() ?? null,
    totalSeconds: (performance.now() - t0) / 1000,
    peakRssBytes: peakRssBytes(),
    outputs,
  };
  await writeFileAtomic(join(folder.staging, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  folder.publish();
  progress.info(`wrote ${Object.values(outputs).join(', ')}`);
}
