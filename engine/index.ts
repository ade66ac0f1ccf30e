// The engine's public entry point: the lin-RFM math over typed arrays (options, data preparation,
// the schedule, prediction from a kernel, synthetic problems), synchronous and free of I/O.

export * from './options.ts';
export { csrFromTriplets, findEntry, nnzOf, transposeCsr, type Csr } from './csr.ts';
export { centered, fitCenter, offset, rowBiases, uncenter, type Center, type CenterKind } from './center.ts';
export { prepareData, rootMeanSquare, SquareSum, type PreparedData } from './split.ts';
export { NumericError } from './errors.ts';
export { generateRatings, type RatingsOptions, type RatingsProblem } from './ratings.ts';
export { itemsByRow, listsByRank, rankingMetrics, ratingMetrics, type RankingMetrics, type RatingMetrics } from './metrics.ts';
export { alsHalfStep, fitBiasedAls, predictAls, type AlsModel, type AlsOptions } from './als.ts';
export { predictLowRank, predictWithModel } from './prediction.ts';
export {
  agopTimes, denseKernel, identityKernel, kernelFromEigen, packKernel, predictUnobserved, solveRowsLowRank, subspaceIteration, topEigen, unpackKernel,
  type LowRankFit, type LowRankKernel, type TopEigen,
} from './lowrank.ts';
export { initialSchedule, nextStep, recordFit, stopAfterFit, type NextKernel, type ScheduleOptions, type ScheduleState } from './schedule.ts';
export { ResumeMismatch, type EngineState, type RunControl } from './state.ts';
export type { AgopPath, RootMethod } from './sweep.ts';
export {
  generateLowRank, sampleDistinct, sampleUnobserved, truthError, unobservedError, unobservedPairs, type SyntheticOptions, type SyntheticProblem,
} from './synthetic.ts';
