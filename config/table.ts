// Every setting of the job commands, defined once: its flag, help, zod schema, default, and the
// commands that take it. The command-line options, the environment variables (LINRFM_<KEY>), the
// config file's keys and `lin-rfm config --print` are all generated from this table.

import { z } from 'zod';
import type { CompleteSettings, DemoSettings, JobCommand, PredictSettings } from './settings.ts';

export { jobCommands, type JobCommand } from './settings.ts';
import { parseBytes } from './units.ts';

/** A key of some command's settings (config/settings.ts). */
export type SettingKey = keyof DemoSettings | keyof CompleteSettings | keyof PredictSettings;

/** How a text value (a flag's argument, an environment variable) becomes the schema's input. */
export type Kind = 'number' | 'int' | 'string' | 'boolean' | 'choice' | 'bytes';

export interface KeyDef {
  /** The config file's key, and the camelCase name of the flag. */
  key: string;
  /** The flag, e.g. '--max-sweeps <n>' (booleans: '--full'). */
  flag: string;
  help: string;
  kind: Kind;
  schema: z.ZodType;
  choices?: readonly string[];
  /** undefined: the setting is optional, or its default is given to resolveConfig (the engine's options). */
  default?: unknown;
  commands: readonly JobCommand[];
  /** The commands that cannot run without it. */
  required?: readonly JobCommand[];
  /** Never shown (config --print, report.json): a password. */
  secret?: boolean;
}

const ENGINE: readonly JobCommand[] = ['demo', 'complete'];
const IO: readonly JobCommand[] = ['complete', 'predict'];
const ALL: readonly JobCommand[] = ['demo', 'complete', 'predict'];

const positive = z.number().gt(0, 'must be > 0').finite('must be finite');
const nonNegative = z.number().min(0, 'must be >= 0').finite('must be finite');
const intMin = (min: number): z.ZodType => z.number().int('must be an integer').min(min, `must be an integer >= ${min}`);
const choice = (values: readonly [string, ...string[]]): z.ZodType => z.enum(values);
const clipSchema = z.union([z.string(), z.array(z.number())]).transform((v, ctx) => {
  const parts = typeof v === 'string' ? v.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x))) : v;
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! < parts[1]!)) {
    ctx.addIssue({ code: 'custom', message: 'expected two finite numbers lo,hi with lo < hi' });
    return z.NEVER;
  }
  return [parts[0]!, parts[1]!] as [number, number];
});
const filterSchema = z.union([z.string(), z.object({ key: z.string(), values: z.array(z.string()) })]).transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  const eq = v.indexOf('=');
  const values = v.slice(eq + 1).split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (eq <= 0 || values.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected key=value or key=v1,v2' });
    return z.NEVER;
  }
  return { key: v.slice(0, eq).trim(), values };
});
const rankSchema = z.union([z.literal('auto'), z.number(), z.string().regex(/^\s*\d+\s*$/, "must be 'auto' or an integer >= 1").transform(Number)])
  .refine((v) => v === 'auto' || (Number.isInteger(v) && v >= 1), "must be 'auto' or an integer >= 1");
const bytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const b = typeof v === 'number' ? v : parseBytes(v);
  if (!(b > 0 && Number.isFinite(b))) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 4G, 1500M or 512MiB, or a number of bytes' });
    return z.NEVER;
  }
  return b;
});

function def(key: SettingKey, flag: string, kind: Kind, schema: z.ZodType, help: string, commands: readonly JobCommand[], extra: Partial<KeyDef> = {}): KeyDef {
  return { key, flag, kind, schema, help, commands, ...extra };
}

const cols = (which: 'row' | 'col' | 'value', dflt: string): KeyDef =>
  def(`${which}Key`, `--${which}-key <name>`, 'string', z.string().min(1, 'must not be empty'), `${which} key column`, IO, { default: dflt });

export const keyDefs: readonly KeyDef[] = [
  // the engine (demo, complete); no default here means the engine's own (engine/options.ts, given by the command line)
  def('alpha', '--alpha <a>', 'number', positive, 'kernel power: K = G^(2 alpha); 0.5 is SVD-free (IRLS-p with p = 2 - 4 alpha)', ENGINE),
  def('lambda', '--lambda <l>', 'number', positive, 'initial ridge, relative to the mean square of the observed values', ENGINE),
  def('lambdaSchedule', '--lambda-schedule <s>', 'choice', choice(['adaptive', 'official', 'fixed']), 'adaptive | official | fixed', ENGINE, { choices: ['adaptive', 'official', 'fixed'] }),
  def('lambdaFactor', '--lambda-factor <f>', 'number', positive, 'adaptive schedule: lambda tracks f x validation MSE', ENGINE),
  def('lambdaPlateau', '--lambda-plateau <n>', 'int', intMin(0), 'adaptive schedule: cut lambda to a quarter after n sweeps without a 1% validation gain (0: never)', ENGINE),
  def('finalRidge', '--final-ridge <how>', 'choice', choice(['search', 'keep']), 'the completions\' ridge: search (picked on the validation entries with the best kernel) | keep (the best sweep\'s)', ENGINE, { choices: ['search', 'keep'] }),
  def('momentum', '--momentum <b>', 'number', z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)'), 'cap of the kernel extrapolation (Nesterov, restarted on validation rise); 0 = plain lin-RFM', ENGINE),
  def('maxSweeps', '--max-sweeps <n>', 'int', intMin(1), 'stop after this many sweeps', ENGINE),
  def('patience', '--patience <n>', 'int', intMin(1), 'stop after this many sweeps without a validation error 0.1% below the best', ENGINE),
  def('tol', '--tol <x>', 'number', nonNegative, 'stop when validation MSE / mean square falls to this', ENGINE),
  def('validation', '--validation <f>', 'number', z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)'), 'share of observed entries held out for early stopping', ENGINE),
  def('agop', '--agop <path>', 'choice', choice(['auto', 'streamed', 'factored']), 'how the AGOP is formed: auto | streamed | factored', ENGINE, { choices: ['auto', 'streamed', 'factored'] }),
  def('root', '--root <method>', 'choice', choice(['auto', 'eig', 'newton-schulz']), 'square root for alpha = 1/4, 3/4, ...: auto | eig | newton-schulz (products only)', ENGINE, { choices: ['auto', 'eig', 'newton-schulz'] }),
  def('kernel', '--kernel <form>', 'choice', choice(['auto', 'dense', 'low-rank']), 'how the kernel is kept: auto (the cheaper form that fits the memory budget) | dense (d x d) | low-rank (rank --kernel-rank, for large d)', ENGINE, { choices: ['auto', 'dense', 'low-rank'], default: 'auto' }),
  def('kernelRank', '--kernel-rank <k|auto>', 'string', rankSchema, 'rank of the low-rank kernel: auto (from the spectrum: starts at 20, cut at a clear gap, grown to 40 when the tail is not separated) or a fixed k, a small multiple of the data\'s rank', ENGINE, { default: 'auto' }),
  def('seed', '--seed <s>', 'int', intMin(0), 'seed of the validation split', ENGINE),
  def('workers', '--workers <n>', 'int', intMin(1), 'worker threads for the sweeps (default: the core count); results are identical for any n', ENGINE),
  def('quiet', '--quiet', 'boolean', z.boolean(), 'no progress output', ALL, { default: false }),
  // demo
  def('rows', '--rows <n>', 'int', intMin(1), 'rows', ['demo'], { default: 1000 }),
  def('cols', '--cols <d>', 'int', intMin(1), 'columns', ['demo'], { default: 800 }),
  def('rank', '--rank <r>', 'int', intMin(1), 'rank', ['demo'], { default: 5 }),
  def('observed', '--observed <m>', 'int', intMin(1), 'observed entries', ['demo'], { default: 40_000 }),
  def('dataSeed', '--data-seed <s>', 'int', intMin(0), 'seed of the generated data', ['demo'], { default: 0 }),
  // inputs and outputs
  def('model', '--model <dir>', 'string', z.string().min(1), 'a model directory written by complete (OUTPUT/model)', ['predict'], { required: ['predict'] }),
  def('input', '--input <path>', 'string', z.string().min(1), 'observed entries: CSV with a header, or a Parquet file or a directory of Parquet files; - for standard input', IO, { required: IO }),
  def('output', '--output <dir>', 'string', z.string().min(1), 'output directory (predictions, model, report.json)', ALL, { required: IO }),
  def('predict', '--predict <path>', 'string', z.string().min(1), 'pairs to predict, CSV (first two columns: row, col) or Parquet (columns named like the keys, or the first two); predict takes it, --top-k or both', IO),
  cols('row', 'row'),
  cols('col', 'col'),
  cols('value', 'value'),
  def('format', '--format <f>', 'choice', choice(['csv', 'parquet']), 'format of the tables written (default: that of --predict, else that of --input)', IO, { choices: ['csv', 'parquet'] }),
  def('filter', '--filter <key=v1,v2>', 'string', filterSchema, 'a Parquet dataset of Hive-style partition directories: read only those named key=value for these values (e.g. date=2026-12-01,2026-12-02)', IO),
  def('delimiter', '--delimiter <c>', 'string', z.string().refine((v) => v === 'tab' || v === '\\t' || v.length === 1, "must be one character, or 'tab'"), 'CSV field separator for every CSV read (default: a tab for *.tsv and *.tsv.gz, else a comma); gzip files (*.csv.gz) are read as they are', IO),
  def('clip', '--clip <lo,hi>', 'string', clipSchema, 'clip every prediction, top-k score and completed value into [lo, hi] (a rating scale, e.g. 1,5)', IO),
  def('coldStart', '--cold-start <policy>', 'choice', choice(['nan', 'drop', 'mean']), 'pairs with a key never seen in training: nan | drop | mean (the centering offset)', IO, { choices: ['nan', 'drop', 'mean'], default: 'nan' }),
  def('duplicates', '--duplicates <policy>', 'choice', choice(['error', 'last', 'mean']), 'a (row, col) pair given twice: error | last (keep the last value) | mean', IO, { choices: ['error', 'last', 'mean'], default: 'error' }),
  // complete
  def('center', '--center <how>', 'choice', choice(['auto', 'none', 'mean', 'bias', 'side-bias']), 'subtract before completing and add back: none | mean | bias (mean + row and column biases, fitted first) | side-bias (mean, and the kernel side\'s biases fitted along with the sweeps: the items\' of a users x items matrix; low-rank kernel) | auto (side-bias with the low-rank kernel, mean with the dense one)', ['complete'], { choices: ['auto', 'none', 'mean', 'bias', 'side-bias'], default: 'auto' }),
  def('outliers', '--outliers <policy>', 'choice', choice(['keep', 'clip', 'error']), 'values beyond --outlier-limit robust standard deviations from the median: clip (to the limit, counted in the log and report) | error | keep', ['complete'], { choices: ['keep', 'clip', 'error'], default: 'clip' }),
  def('outlierLimit', '--outlier-limit <k>', 'number', positive, 'how many robust standard deviations (1.4826 x the median absolute deviation) from the median make a value an outlier', ['complete'], { default: 50 }),
  def('evaluate', '--evaluate <path>', 'string', z.string().min(1), 'held-out truth (row key, column key, value; CSV or Parquet): the predictions for its pairs, and the --top-k lists, are scored against it into report.json (see lin-rfm evaluate)', ['complete']),
  def('tune', '--tune <grid>', 'string', z.string().min(1), 'try a grid of settings on one load and keep the run with the best validation RMSE: name=v1,v2;name=... over alpha, lambda, lambda-schedule, lambda-factor, lambda-plateau, momentum, kernel-rank, or default (alpha=0.5,0.75;lambda-factor=0.5,2,8); writes tune.csv and tuned.json', ['complete']),
  def('topK', '--top-k <k>', 'int', intMin(1), 'also write topk.(csv|parquet): the k best unobserved columns of every row (row, col, score, rank); predict: of every folded-in row', ['complete', 'predict']),
  def('full', '--full', 'boolean', z.boolean(), 'also write the whole completed matrix, long format (row, col, value, observed): full.csv, or a Parquet dataset full/ of part files', ['complete'], { default: false }),
  def('memoryBudget', '--memory-budget <size>', 'bytes', bytes, 'refuse a job whose memory estimate exceeds this (bytes, or 1500M, 4G, 512MiB; default 80% of RAM)', ['complete']),
  def('spill', '--spill <when>', 'choice', choice(['auto', 'always', 'never']), 'load and sweep through files in --work-dir instead of memory: auto (when the load or the run could exceed --memory-budget) | always | never', ['complete'], { choices: ['auto', 'always', 'never'], default: 'auto' }),
  def('workDir', '--work-dir <dir>', 'string', z.string().min(1), 'directory for the spilled load\'s buckets and the spill chunks (default OUTPUT/spill; removed when the job ends)', ['complete']),
  def('spillChunk', '--spill-chunk <entries>', 'int', intMin(1), 'observed entries per spill chunk (predict --cluster: observed entries and pairs a task)', ['complete', 'predict'], { default: 1_000_000 }),
  def('checkpointEvery', '--checkpoint-every <n>', 'int', intMin(0), 'write a checkpoint every n sweeps (0: only on SIGTERM/SIGINT)', ['complete'], { default: 10 }),
  def('checkpoint', '--checkpoint <file>', 'string', z.string().min(1), 'checkpoint file (default OUTPUT/checkpoint.lrfm; removed once the outputs are written)', ['complete']),
  def('resume', '--resume', 'boolean', z.boolean(), 'continue from the checkpoint if there is one (same input and engine options); bit-identical to an uninterrupted run', ['complete'], { default: false }),
  // scale-out
  def('cluster', '--cluster <url>', 'string', z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'), 'run the sweeps\' row solves (and the low-rank operator\'s rows; predict: the fold-in) on the workers of this Redis (redis://HOST:PORT, rediss:// for TLS; lin-rfm worker): the same bits as here', ['complete', 'predict']),
  def('clusterStorage', '--cluster-storage <dir>', 'string', z.string().min(1), 'a directory every worker reads at the same path given to it (--cluster-storage of lin-rfm worker): the run\'s chunk files go to a job directory in it', ['complete', 'predict']),
  def('clusterPrefix', '--cluster-prefix <p>', 'string', z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1 to 64)'), 'Redis key prefix of the queue (the workers\' own); each job\'s keys are under PREFIX:job:ID', ['complete', 'predict'], { default: 'lin-rfm' }),
  def('clusterWait', '--cluster-wait <s>', 'int', intMin(1), 'seconds to wait for an unreachable Redis (at the start, and mid-run) before giving up (exit 69)', ['complete', 'predict'], { default: 60 }),
  def('clusterUser', '--cluster-user <name>', 'string', z.string().min(1), 'Redis ACL user (default: the URL\'s, else none)', ['complete', 'predict']),
  def('clusterPassword', '--cluster-password <p>', 'string', z.string().min(1), 'Redis password: better from LINRFM_CLUSTER_PASSWORD or the config file than a flag; never logged or reported', ['complete', 'predict'], { secret: true }),
];

/** LINRFM_MAX_SWEEPS for maxSweeps. */
export function envName(key: string): string {
  return 'LINRFM_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** Environment variables of the project that are not settings of a job. */
export const otherEnv: ReadonlySet<string> = new Set(['LINRFM_KERNELS', 'LINRFM_FMA', 'LINRFM_CONFIG', 'LINRFM_WORKER_HOLD_MS']);

export function keysOf(command: JobCommand): KeyDef[] {
  return keyDefs.filter((k) => k.commands.includes(command));
}

/** One setting's value as it may be shown (in an error, a report): a secret as ***, a URL without its password. */
export function shownValue(key: string, value: unknown): unknown {
  if (keyDefs.some((d) => d.key === key && d.secret === true) && value !== undefined) return '***';
  if (key === 'cluster' && typeof value === 'string') return redactUrl(value);
  return value;
}

/** A URL as it may be shown: a password in it replaced by ***. */
export function redactUrl(url: string): string {
  return url.replace(/^([^:/]*:\/*[^:/@]*:)[^@]*@/, '$1***@');
}

/** Resolved values as they may be shown: secrets replaced, a password in the cluster URL too. */
export function shownValues(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, shownValue(k, v)]));
}
