// The completion model on disk: kernel and column keys as Arrow IPC files, scalars as JSON, written atomically.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { KeyDictionary } from './key-dictionary.ts';
import { makeDirs } from './dirs.ts';
import type { CenterKind } from '../engine/center.ts';
import type { LowRankKernel } from '../engine/lowrank.ts';

/** A dense kernel's model; a low-rank kernel's is LOW_RANK_FORMAT (older readers refuse it by name). */
export const MODEL_FORMAT = 'lin-rfm-model/1';
export const LOW_RANK_FORMAT = 'lin-rfm-model/2';

export interface StoredModel {
  d: number;
  /** d x d row-major kernel, in units where the training values had mean square 1 (empty with lowRank). */
  K: Float64Array;
  /** A low-rank kernel U diag(w) U^T + tauK I (kernel.arrow holds U, column u, d x k row-major). */
  lowRank?: LowRankKernel;
  lambda: number;
  scale: number;
  alpha: number;
  transposed: boolean;
  /** Keys of the kernel's side, index i = row/column i of K. */
  keys: KeyDictionary;
  /**
   * Centering: kind, mean, bias ridge, and the kernel side's biases in the data's units (keys.arrow's
   * column bias): a 'bias' centering's column biases, or the side biases of a 'side-bias' one.
   */
  center: { kind: CenterKind; mean: number; reg: number; bias: Float64Array };
  /** The side biases (engine/side-bias.ts; keys.arrow's column bias of a 'side-bias' model), part of every prediction. */
  bias?: Float64Array;
}

interface ModelMeta {
  format: string;
  d: number;
  lambda: number;
  scale: number;
  alpha: number;
  transposed: boolean;
  center: { kind: CenterKind; mean: number; reg: number };
  /** LOW_RANK_FORMAT only. */
  kernel?: { form: 'low-rank'; rank: number; tauK: number; w: number[] };
}

/** Writes DIR/kernel.arrow (column k: the d*d kernel), DIR/keys.arrow (column key) and DIR/model.json. */
export async function writeModel(dir: string, m: StoredModel): Promise<void> {
  makeDirs(dir);
  const lr = m.lowRank;
  const kernel = tableToIPC(lr === undefined ? tableFromArrays({ k: m.K }) : tableFromArrays({ u: lr.U }), 'file');
  const bias = m.center.bias.length === m.d ? m.center.bias : new Float64Array(m.d);
  const keys = tableToIPC(tableFromArrays({ key: m.keys.keys(), bias }), 'file');
  const center = { kind: m.center.kind, mean: m.center.mean, reg: m.center.reg };
  const meta: ModelMeta = { format: lr === undefined ? MODEL_FORMAT : LOW_RANK_FORMAT, d: m.d, lambda: m.lambda, scale: m.scale, alpha: m.alpha, transposed: m.transposed, center };
  if (lr !== undefined) meta.kernel = { form: 'low-rank', rank: lr.k, tauK: lr.tauK, w: Array.from(lr.w) };
  await writeFileAtomic(join(dir, 'kernel.arrow'), kernel);
  await writeFileAtomic(join(dir, 'keys.arrow'), keys);
  // the metadata last: a directory with model.json holds a whole model
  await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(meta, null, 2) + '\n');
}

export function readModel(dir: string): StoredModel {
  const metaPath = join(dir, 'model.json');
  if (!existsSync(metaPath)) throw Errors.MissingInput(metaPath, 'no model here (model.json missing)');
  let meta: ModelMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ModelMeta;
  } catch (e) {
    throw Errors.BadData(metaPath, 'model.json', `not valid JSON: ${(e as Error).message}`);
  }
  if (meta.format !== MODEL_FORMAT && meta.format !== LOW_RANK_FORMAT) {
    throw Errors.BadData(metaPath, 'format', `expected ${MODEL_FORMAT} or ${LOW_RANK_FORMAT}, found ${String(meta.format)}`);
  }
  const lowRankMeta = meta.format === LOW_RANK_FORMAT ? checkLowRankMeta(metaPath, meta) : undefined;
  const read = (name: string): Table => {
    const path = join(dir, name);
    if (!existsSync(path)) throw Errors.MissingInput(path, 'model file missing');
    try {
      return tableFromIPC(readFileSync(path)) as Table;
    } catch (e) {
      throw Errors.BadData(path, 'file', `not a readable Arrow IPC file: ${(e as Error).message}`);
    }
  };
  const kt = read('kernel.arrow');
  const column = lowRankMeta === undefined ? 'k' : 'u';
  const kcol = kt.getChild(column);
  const K = new Float64Array(lowRankMeta === undefined ? meta.d * meta.d : meta.d * lowRankMeta.rank);
  if (kcol === null || kcol.length !== K.length) throw Errors.BadData(join(dir, 'kernel.arrow'), `column "${column}"`, `expected ${K.length} values`);
  let p = 0;
  for (const chunk of kcol.data) {
    K.set(chunk.values.subarray(0, chunk.length) as Float64Array, p);
    p += chunk.length;
  }
  const lowRank: LowRankKernel | undefined = lowRankMeta === undefined
    ? undefined
    : { d: meta.d, k: lowRankMeta.rank, U: K, w: Float64Array.from(lowRankMeta.w), tauK: lowRankMeta.tauK };
  const kt2 = read('keys.arrow');
  const keyCol = kt2.getChild('key');
  const biasCol = kt2.getChild('bias');
  if (keyCol === null || keyCol.length !== meta.d) throw Errors.BadData(join(dir, 'keys.arrow'), 'column "key"', `expected ${meta.d} keys`);
  if (biasCol === null || biasCol.length !== meta.d) throw Errors.BadData(join(dir, 'keys.arrow'), 'column "bias"', `expected ${meta.d} values`);
  const keys = KeyDictionary.from(Array.from(keyCol.toArray() as Iterable<string>, (k) => String(k)));
  const kind = meta.center.kind;
  const bias = kind === 'bias' || kind === 'side-bias' ? Float64Array.from(biasCol.toArray() as Iterable<number>) : new Float64Array(0);
  if (kind === 'side-bias' && lowRank === undefined) throw Errors.BadData(metaPath, 'center.kind', 'side biases come with a low-rank kernel (a lin-rfm-model/2)');
  return {
    d: meta.d, K: lowRank === undefined ? K : new Float64Array(0), lowRank, lambda: meta.lambda, scale: meta.scale, alpha: meta.alpha, transposed: meta.transposed, keys,
    // the side biases are the model's, not the centering's: the fold-in takes them out and adds them back (engine/prediction.ts)
    center: { ...meta.center, bias: kind === 'side-bias' ? new Float64Array(0) : bias },
    ...(kind === 'side-bias' ? { bias } : {}),
  };
}

/** A low-rank model's kernel fields: a rank of 1 to d, finite tauK >= 0, and rank finite weights >= 0. */
function checkLowRankMeta(metaPath: string, meta: ModelMeta): NonNullable<ModelMeta['kernel']> {
  const k = meta.kernel;
  if (k === undefined || k.form !== 'low-rank') throw Errors.BadData(metaPath, 'kernel', `a ${LOW_RANK_FORMAT} model needs kernel.form "low-rank"`);
  if (!(Number.isInteger(k.rank) && k.rank >= 1 && k.rank <= meta.d)) throw Errors.BadData(metaPath, 'kernel.rank', `expected an integer from 1 to ${meta.d}, found ${String(k.rank)}`);
  if (!(typeof k.tauK === 'number' && k.tauK >= 0 && Number.isFinite(k.tauK))) throw Errors.BadData(metaPath, 'kernel.tauK', `expected a finite number >= 0, found ${String(k.tauK)}`);
  if (!Array.isArray(k.w) || k.w.length !== k.rank || !k.w.every((x) => typeof x === 'number' && x >= 0 && Number.isFinite(x))) {
    throw Errors.BadData(metaPath, 'kernel.w', `expected ${k.rank} finite numbers >= 0`);
  }
  return k;
}
