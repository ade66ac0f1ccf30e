// The job commands' settings as typed objects: what the settings table (config/table.ts) resolves to
// once flags, environment, config file and defaults are merged and each value has passed its schema.

import type { CenterKind } from '../engine/center.ts';

export type JobCommand = 'demo' | 'complete' | 'predict';
export const jobCommands: readonly JobCommand[] = ['demo', 'complete', 'predict'];

export type Duplicates = 'error' | 'last' | 'mean';
export type ColdStartPolicy = 'nan' | 'drop' | 'mean';
export type TableFormat = 'csv' | 'parquet';
export type SpillWhen = 'auto' | 'always' | 'never';
export type OutlierPolicy = 'keep' | 'clip' | 'error';

/** The engine's settings (demo, complete); every one has a default. */
export interface EngineSettings {
  alpha: number;
  lambda: number;
  lambdaSchedule: 'adaptive' | 'official' | 'fixed';
  lambdaFactor: number;
  lambdaPlateau: number;
  finalRidge: 'search' | 'keep';
  momentum: number;
  maxSweeps: number;
  patience: number;
  tol: number;
  validation: number;
  agop: 'auto' | 'streamed' | 'factored';
  root: 'auto' | 'eig' | 'newton-schulz';
  kernel: 'auto' | 'dense' | 'low-rank';
  kernelRank: number | 'auto';
  seed: number;
  workers: number;
}

export interface DemoSettings extends EngineSettings {
  quiet: boolean;
  output: string;
  rows: number;
  cols: number;
  rank: number;
  observed: number;
  dataSeed: number;
}

/** Inputs and outputs (complete, predict). */
export interface IoSettings {
  quiet: boolean;
  input: string;
  output: string;
  predict?: string;
  rowKey: string;
  colKey: string;
  valueKey: string;
  format?: TableFormat;
  coldStart: ColdStartPolicy;
  /** Only the Hive-style partition directories key=value with these values (Parquet datasets). */
  filter?: { key: string; values: string[] };
  /** CSV field separator (one character, or `tab`). */
  delimiter?: string;
  /** Outputs clipped into [lo, hi] (a rating scale). */
  clip?: [number, number];
  duplicates: Duplicates;
}

interface CompleteOnly {
  /** auto: side-bias with the low-rank kernel, mean with the dense one (pipeline/load.ts resolveCenter). */
  center: CenterKind | 'auto';
  outliers: OutlierPolicy;
  outlierLimit: number;
  topK?: number;
  /** Held-out truth scored at the end of the run (report.json evaluation). */
  evaluate?: string;
  /** A grid of engine settings tried on one load, the best validated run kept (cli/tune.ts). */
  tune?: string;
  full: boolean;
  /** Bytes; absent: 80% of RAM. */
  memoryBudget?: number;
  spill: SpillWhen;
  workDir?: string;
  checkpointEvery: number;
  checkpoint?: string;
  resume: boolean;
}

/** Scale-out (pipeline/cluster/): the Redis URL, the shared storage, the key prefix, the wait, the credentials. */
export interface ClusterSettings {
  cluster?: string;
  clusterStorage?: string;
  clusterPrefix: string;
  clusterWait: number;
  clusterUser?: string;
  clusterPassword?: string;
  /** Entries a chunk (a task of the cluster's), and of a spilled run's chunks. */
  spillChunk: number;
}

export interface CompleteSettings extends EngineSettings, IoSettings, ClusterSettings, CompleteOnly {}

export interface PredictSettings extends IoSettings, ClusterSettings {
  model: string;
  predict?: string;
  topK?: number;
}

export interface SettingsOf {
  demo: DemoSettings;
  complete: CompleteSettings;
  predict: PredictSettings;
}

const engineKeys: Record<keyof EngineSettings, true> = {
  alpha: true, lambda: true, lambdaSchedule: true, lambdaFactor: true, lambdaPlateau: true, finalRidge: true, momentum: true, maxSweeps: true,
  patience: true, tol: true, validation: true, agop: true, root: true, kernel: true, kernelRank: true, seed: true, workers: true,
};
const clusterKeys: Record<keyof ClusterSettings, true> = {
  cluster: true, clusterStorage: true, clusterPrefix: true, clusterWait: true, clusterUser: true, clusterPassword: true, spillChunk: true,
};
const ioKeys: Record<keyof IoSettings, true> = {
  quiet: true, input: true, output: true, predict: true, rowKey: true, colKey: true, valueKey: true, format: true, coldStart: true, clip: true, delimiter: true, filter: true, duplicates: true,
};

/**
 * Every key of each command's settings type, checked complete and exact by the compiler; a test holds
 * the settings table to the same lists, so the table and these types cannot drift apart.
 */
export const settingKeys: { [C in JobCommand]: Record<keyof SettingsOf[C], true> } = {
  demo: { ...engineKeys, quiet: true, output: true, rows: true, cols: true, rank: true, observed: true, dataSeed: true },
  complete: {
    ...engineKeys, ...ioKeys, ...clusterKeys, center: true, outliers: true, outlierLimit: true, topK: true, evaluate: true, tune: true, full: true, memoryBudget: true,
    spill: true, workDir: true, checkpointEvery: true, checkpoint: true, resume: true,
  },
  predict: { ...ioKeys, ...clusterKeys, model: true, predict: true, topK: true },
};

/**
 * The resolved values of a command (resolveConfig's `values`) as its typed settings. resolveConfig
 * has checked every value against its schema and filled the defaults; this checks that nothing
 * else is there.
 */
export function settingsOf<C extends JobCommand>(command: C, values: Readonly<Record<string, unknown>>): SettingsOf[C] {
  const known = settingKeys[command] as Record<string, true>;
  for (const key of Object.keys(values)) {
    if (known[key] !== true) throw new RangeError(`settings of ${command}: ${key} is not one of its settings`);
  }
  return values as unknown as SettingsOf[C];
}
