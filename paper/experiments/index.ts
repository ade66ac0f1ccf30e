// The experiments `lin-rfm experiment NAME` runs.

import { alphaExperiment } from './alpha.ts';
import { completionSamples } from './completion-samples.ts';
import { ratingsExperiment } from './ratings.ts';
import { regressionSamples } from './regression-samples.ts';
import { timeVsSize } from './time-vs-size.ts';
import type { Experiment } from './types.ts';

export const experiments: readonly Experiment[] = [completionSamples, regressionSamples, timeVsSize, alphaExperiment, ratingsExperiment];

export function findExperiment(name: string): Experiment | undefined {
  return experiments.find((e) => e.name === name);
}
