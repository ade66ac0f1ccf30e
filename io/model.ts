// The completion model on disk: kernel and column keys as Arrow IPC files, scalars as JSON, written atomically.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { Errors } from '../config/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { KeyDictionary } from './key-dictionary.ts';
import { makeDirs } from './dirs.ts';

export const MODEL_FORMAT = 'lin-rfm-model/1';

export interface StoredModel {
  d: number;
  /** d x d row-major kernel, in units where the training values had mean square 1. */
  K: Float64Array;
  lambda: number;
  scale: number;
  alpha: number;
  transposed: boolean;
  /** Keys of the kernel's side, index i = row/column i of K. */
  keys: KeyDictionary;
  /** Centering: kind, mean, bias ridge, and the kernel side's biases (empty unless kind is bias). */
  center: { kind: 'none' | 'mean' | 'bias'; mean: number; reg: number; bias: Float64Array };
}

interface ModelMeta {
  format: string;
  d: number;
  lambda: number;
  scale: number;
  alpha: number;
  transposed: boolean;
  center: { kind: 'none' | 'mean' | 'bias'; mean: number; reg: number };
}

/** Writes DIR/kernel.arrow (column k: the d*d kernel), DIR/keys.arrow (column key) and DIR/model.json. */
export async function writeModel(dir: string, m: StoredModel): Promise<void> {
  makeDirs(dir);
  const kernel = tableToIPC(tableFromArrays({ k: m.K }), 'file');
  const bias = m.center.bias.length === m.d ? m.center.bias : new Float64Array(m.d);
  const keys = tableToIPC(tableFromArrays({ key: m.keys.keys(), bias }), 'file');
  const center = { kind: m.center.kind, mean: m.center.mean, reg: m.center.reg };
  const meta: ModelMeta = { format: MODEL_FORMAT, d: m.d, lambda: m.lambda, scale: m.scale, alpha: m.alpha, transposed: m.transposed, center };
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
  if (meta.format !== MODEL_FORMAT) throw Errors.BadData(metaPath, 'format', `expected ${MODEL_FORMAT}, found ${String(meta.format)}`);
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
  const kcol = kt.getChild('k');
  const K = new Float64Array(meta.d * meta.d);
  if (kcol === null || kcol.length !== K.length) throw Errors.BadData(join(dir, 'kernel.arrow'), 'column "k"', `expected ${K.length} values`);
  let p = 0;
  for (const chunk of kcol.data) {
    K.set(chunk.values.subarray(0, chunk.length) as Float64Array, p);
    p += chunk.length;
  }
  const kt2 = read('keys.arrow');
  const keyCol = kt2.getChild('key');
  const biasCol = kt2.getChild('bias');
  if (keyCol === null || keyCol.length !== meta.d) throw Errors.BadData(join(dir, 'keys.arrow'), 'column "key"', `expected ${meta.d} keys`);
  if (biasCol === null || biasCol.length !== meta.d) throw Errors.BadData(join(dir, 'keys.arrow'), 'column "bias"', `expected ${meta.d} values`);
  const keys = KeyDictionary.from(Array.from(keyCol.toArray() as Iterable<string>, (k) => String(k)));
  const bias = meta.center.kind === 'bias' ? Float64Array.from(biasCol.toArray() as Iterable<number>) : new Float64Array(0);
  return {
    d: meta.d, K, lambda: meta.lambda, scale: meta.scale, alpha: meta.alpha, transposed: meta.transposed, keys,
    center: { ...meta.center, bias },
  };
}
