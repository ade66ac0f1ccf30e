// What reproduces the paper, as one entry point: the experiments `lin-rfm experiment NAME` runs, the
// baselines they compare with (IRLS-p, deep linear networks, soft-impute, the Lasso) and the figures.

export { experiments, findExperiment } from './experiments/index.ts';
export type { Experiment, ExperimentOptions, ExperimentOutput, Grid } from './experiments/types.ts';
export { CellsMismatch, CellStore, type CellCounts, type CellOptions } from './experiments/cells.ts';
export { completeDln } from './baselines/dln.ts';
export { completeIrls } from './baselines/irls.ts';
export { completeSoftImpute } from './baselines/softimpute.ts';
export type { BaselineResult } from './baselines/common.ts';
export { diagRfm } from './regression/diag-rfm.ts';
export { dln as diagonalDln } from './regression/dln.ts';
export { irls as irlsRegression } from './regression/irls.ts';
export { lasso } from './regression/lasso.ts';
export { sparseRegression, type SparseRegressionProblem } from './regression/synthetic.ts';
export { lineChart, type ChartOptions, type Series } from './svg.ts';
