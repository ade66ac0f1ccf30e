// From settings to the engine's options, and the engine's defaults as settings (the table leaves
// those to the engine, engine/options.ts).

import type { EngineSettings } from '../config/settings.ts';
import { defaultEngineOptions, type EngineOptions } from '../engine/options.ts';

/** The engine's defaults by setting key, for resolveConfig. */
export const engineDefaults: Readonly<Record<string, unknown>> = {
  alpha: defaultEngineOptions.alpha,
  lambda: defaultEngineOptions.lambda,
  lambdaSchedule: defaultEngineOptions.lambdaSchedule,
  lambdaFactor: defaultEngineOptions.lambdaFactor,
  lambdaPlateau: defaultEngineOptions.lambdaPlateau,
  finalRidge: defaultEngineOptions.finalRidge,
  momentum: defaultEngineOptions.momentum,
  maxSweeps: defaultEngineOptions.maxSweeps,
  patience: defaultEngineOptions.patience,
  tol: defaultEngineOptions.tol,
  validation: defaultEngineOptions.validationFraction,
  agop: defaultEngineOptions.agop,
  root: defaultEngineOptions.root,
  seed: defaultEngineOptions.seed,
};

/** The engine's options of a job's settings (a ridge below the engine's floor lowers the floor with it). */
export function engineOptionsFrom(s: EngineSettings): EngineOptions {
  const eo: EngineOptions = {
    ...defaultEngineOptions,
    alpha: s.alpha,
    lambda: s.lambda,
    lambdaSchedule: s.lambdaSchedule,
    lambdaFactor: s.lambdaFactor,
    lambdaPlateau: s.lambdaPlateau,
    finalRidge: s.finalRidge,
    maxSweeps: s.maxSweeps,
    momentum: s.momentum,
    patience: s.patience,
    tol: s.tol,
    validationFraction: s.validation,
    agop: s.agop,
    root: s.root,
    // auto is decided from the data's shape and the memory budget (pipeline/memory.ts, chooseKernel)
    kernel: s.kernel === 'low-rank' ? 'low-rank' : 'dense',
    kernelRank: s.kernelRank === 'auto' ? defaultEngineOptions.kernelRank : s.kernelRank,
    kernelRankAuto: s.kernelRank === 'auto',
    seed: s.seed,
  };
  if (eo.lambda < defaultEngineOptions.lambdaFloor) eo.lambdaFloor = eo.lambda;
  return eo;
}

