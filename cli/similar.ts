// `lin-rfm similar`: each item's most similar items by the cosine of the model's kernel columns
// (engine/similar.ts), for all items or those listed, as CSV or Parquet (item, similar, cosine, rank).

import { readModel } from '../io/model.ts';
import { similarColumns } from '../engine/similar.ts';
import { isParquet } from '../pipeline/inputs.ts';
import { writeCsvAtomic } from '../io/csv.ts';
import { writeTableParquetAtomic } from '../io/parquet.ts';
import { readKeyList } from './recommend.ts';

export interface SimilarFlags {
  model: string;
  topK: number;
  items?: string;
  out: string;
}

export async function cmdSimilar(f: SimilarFlags): Promise<void> {
  const model = readModel(f.model);
  const items = f.items === undefined ? Int32Array.from({ length: model.d }, (_, j) => j) : readKeyList(f.items, model.keys, 'item');
  const s = similarColumns(model, items, f.topK);
  const itemText = Array.from(s.items, (j) => model.keys.key(j));
  const similarText = Array.from(s.similar, (j) => model.keys.key(j));
  if (isParquet(f.out)) {
    await writeTableParquetAtomic(f.out, [
      { name: 'item', values: itemText }, { name: 'similar', values: similarText }, { name: 'cosine', values: s.cosine }, { name: 'rank', values: s.rank },
    ]);
  } else {
    await writeCsvAtomic(f.out, ['item', 'similar', 'cosine', 'rank'], (function* () {
      for (let e = 0; e < itemText.length; e++) yield [itemText[e]!, similarText[e]!, s.cosine[e]!, s.rank[e]!];
    })());
  }
  const side = model.transposed ? 'rows of the training input (its kernel is on them)' : 'items';
  process.stdout.write(`wrote ${f.out}: the ${Math.min(f.topK, model.d - 1)} most similar of ${items.length} ${side}, by the cosine of the kernel's columns\n`);
}
