// Worker thread of the sweep pool: runs one block of a sweep over the run's shared arrays.

import type { WorkerResult, WorkerTask } from './pool.ts';
import { blockContext, retargetBlockContext, runBlock, type BlockContext } from './blocks.ts';

// Row scratch and the resident gemm operand outlive a task; the arrays come with every task (as
// views of shared memory), so a worker holds no run's memory between tasks beyond these.
let ctx: BlockContext | null = null;

export default function runTask(task: WorkerTask): WorkerResult {
  ctx = ctx === null ? blockContext(task.arrays) : retargetBlockContext(ctx, task.arrays);
  try {
    return runBlock(ctx, task.block);
  } finally {
    // drop this task's views so that a finished run's shared memory can be freed
    ctx.arrays = EMPTY;
  }
}

const EMPTY = {
  d: 0,
  train: { nRows: 0, nCols: 0, rowPtr: new Int32Array(1), colIdx: new Int32Array(0), values: new Float64Array(0) },
  a: new Float64Array(0),
  valRow: new Int32Array(0),
  valCol: new Int32Array(0),
  valValue: new Float64Array(0),
  cols: null,
  mats: [],
  ybuf: new Float64Array(0),
  maxRow: 0,
  lr: null,
};
