// The lin-rfm command line: the program, its flags (from the settings table), the commands, exit codes.

import { Command, CommanderError, Option } from 'commander';
import { Errors, exitCodes, LinRfmError } from '../config/errors.ts';
import { NumericError } from '../engine/errors.ts';
import { keyDefs, keysOf, jobCommands, shownValue, type JobCommand } from '../config/table.ts';
import { check, fromText, resolveConfig, type Resolved } from '../config/load.ts';
import type { EvaluateFlags } from './evaluate.ts';
import type { ExperimentFlags } from './experiment.ts';
import type { GenerateFlags } from './generate.ts';
import type { SimilarFlags } from './similar.ts';
import type { RecommendFlags } from './recommend.ts';
import type { StatusFlags, WorkerFlags } from './cluster.ts';
import { engineDefaults } from './options.ts';
import { VERSION } from './report.ts';

// Each command's module is loaded when it runs, so that `--version` and `--help` start at once.
const cmdDemo = async (s: Resolved): Promise<void> => (await import('./demo.ts')).cmdDemo(s);
const cmdComplete = async (s: Resolved): Promise<void> => (await import('./complete.ts')).cmdComplete(s);
const cmdPredict = async (s: Resolved): Promise<void> => (await import('./predict.ts')).cmdPredict(s);
const cmdGenerate = async (f: GenerateFlags): Promise<void> => (await import('./generate.ts')).cmdGenerate(f);
const cmdExperiment = async (name: string, f: ExperimentFlags): Promise<void> => (await import('./experiment.ts')).cmdExperiment(name, f);
const cmdEvaluate = async (f: EvaluateFlags): Promise<void> => (await import('./evaluate.ts')).cmdEvaluate(f);
const cmdSimilar = async (f: SimilarFlags): Promise<void> => (await import('./similar.ts')).cmdSimilar(f);
const cmdRecommend = async (f: RecommendFlags): Promise<void> => (await import('./recommend.ts')).cmdRecommend(f);
const cmdWorker = async (f: WorkerFlags): Promise<void> => (await import('./cluster.ts')).cmdWorker(f);
const cmdClusterStatus = async (f: StatusFlags): Promise<void> => (await import('./cluster.ts')).cmdClusterStatus(f);
const cmdConfig = async (f: Record<string, unknown>): Promise<void> => (await import('./config.ts')).cmdConfig(f);

function intArg(flag: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(x) || x < min) {
      throw Errors.Usage(`${flag}: expected an integer >= ${min}, got "${v}"`);
    }
    return x;
  };
}

function numArg(flag: string, check: (x: number) => boolean, what: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw Errors.Usage(`${flag}: expected ${what}, got "${v}"`);
    return x;
  };
}

/** The flags of a job command, from the settings table (config/keys.ts), plus --config. */
function jobFlags(cmd: Command, command: JobCommand | 'all'): Command {
  const defs = command === 'all' ? keyDefs : keysOf(command);
  for (const d of defs) {
    const opt = new Option(d.flag, d.help + (d.default !== undefined && d.kind !== 'boolean' ? ` (default ${String(d.default)})` : ''));
    if (d.kind !== 'boolean') {
      opt.argParser((v: string) => {
        const r = check(d, fromText(d, v));
        if (!r.ok) throw Errors.Usage(`${d.flag.split(' ')[0]}: ${r.why}, got "${String(shownValue(d.key, v))}"`);
        return r.value;
      });
    }
    cmd.addOption(opt);
  }
  return cmd.option('--config <file>', 'settings from a JSON or YAML file (flags > LINRFM_* environment > this file > defaults)');
}

/** A job command's action on its effective settings (flags > environment > config file > defaults). */
function withConfig(command: JobCommand, action: (settings: Resolved) => Promise<void>): (flags: Record<string, unknown>) => Promise<void> {
  return async (flags) => {
    const { config, ...given } = flags;
    const resolved = resolveConfig(command, given, process.env, config as string | undefined, true, engineDefaults);
    for (const w of resolved.warnings) process.stderr.write(`lin-rfm: warning: ${w}\n`);
    await action(resolved);
  };
}

export function buildProgram(): Command {
  const program = new Command('lin-rfm')
    .description('Sparse matrix completion with the linear Recursive Feature Machine (SVD-free lin-RFM)')
    .version(VERSION)
    .exitOverride()
    // a usage error in one line, like every other error: "lin-rfm: error: unknown option '--x' (Did you mean --y?)"
    .configureOutput({ writeErr: (s) => process.stderr.write(`lin-rfm: ${s.trim().replace(/\s*\n\s*/g, ' ')}\n`) });

  jobFlags(
    program
      .command('demo')
      .description('complete the built-in default problem (1,000 x 800, rank 5, 40,000 observed) and report the error against the truth'),
    'demo',
  ).action(withConfig('demo', cmdDemo));

  program
    .command('generate')
    .description('write a synthetic problem as CSV (row,col,value): a low-rank matrix, or ratings (--profile ratings)')
    .requiredOption('--rows <n>', 'rows', intArg('--rows', 1))
    .requiredOption('--cols <d>', 'columns', intArg('--cols', 1))
    .requiredOption('--rank <r>', 'rank', intArg('--rank', 1))
    .requiredOption('--observed <m>', 'observed entries (exactly this many, uniformly at random)', intArg('--observed', 1))
    .requiredOption('--out <file>', 'training CSV to write')
    .option('--seed <s>', 'seed', intArg('--seed', 0))
    .option('--noise <sigma>', 'Gaussian noise on observed values', numArg('--noise', (x) => x >= 0, 'a number >= 0'))
    .option('--truth <file>', 'also write held-out truth (row,col,value) for unobserved entries')
    .option('--truth-count <k>', 'how many unobserved entries the truth file holds (default 100000; ratings: the whole held-out share)', intArg('--truth-count', 1))
    .addOption(new Option('--profile <p>', 'lowrank (default): a low-rank matrix, uniform entries; ratings: power-law users and items, user and item biases, a low-rank signal, noise std 1 (--noise), rounded to 1..5, the truth a held-out 2% of each user\'s ratings').choices(['lowrank', 'ratings']))
    .action(cmdGenerate);

  jobFlags(
    program
      .command('complete')
      .description('complete a matrix of observed entries (CSV or Parquet: row key, column key, value) and write predictions, top-k, the model and a report'),
    'complete',
  ).action(withConfig('complete', cmdComplete));
  jobFlags(
    program
      .command('predict')
      .description('complete rows that were not in training from their observed entries alone, with a saved model (fold-in, no refit)'),
    'predict',
  ).action(withConfig('predict', cmdPredict));
  program
    .command('evaluate')
    .description('score predictions (RMSE, MAE, coverage) and top-k lists (precision, recall, NDCG, MAP at k, catalogue coverage) against held-out truth; keys matched by text')
    .requiredOption('--truth <file>', 'held-out entries (CSV or Parquet: row key, column key, value)')
    .option('--predictions <file>', 'predictions as complete or predict write them (row key, column key, --prediction-key)')
    .option('--top-k <file>', 'top-k lists as complete --top-k writes them (row key, column key, score, rank)')
    .option('--k <k>', 'list length scored (default: the longest list)', intArg('--k', 1))
    .option('--relevant-min <x>', 'a held-out item is relevant when its value is at least this (default: every held-out item)', numArg('--relevant-min', Number.isFinite, 'a number'))
    .option('--catalogue <n>', 'items in the catalogue, for coverage (default: the distinct columns in the files read)', intArg('--catalogue', 1))
    .option('--row-key <name>', 'row key column in every file (default row)')
    .option('--col-key <name>', 'column key column in every file (default col)')
    .option('--value-key <name>', 'value column of the truth (default value)')
    .option('--prediction-key <name>', 'value column of the predictions (default prediction)')
    .option('--json <file>', 'also write the figures as JSON')
    .action(cmdEvaluate);
  program
    .command('recommend')
    .description("top-k columns for listed rows of the training input (or any rows), by fold-in with a saved model: no refit; the lists complete --top-k gives for those rows")
    .requiredOption('--model <dir>', 'a model directory (OUTPUT/model of complete)')
    .requiredOption('--input <path>', 'the rows\' observed entries (the training input, or new rows): CSV or Parquet; - for standard input')
    .requiredOption('--rows <file>', 'the rows to list: a CSV whose first column holds their keys (after a header line)')
    .requiredOption('--top-k <k>', 'columns per row', intArg('--top-k', 1))
    .requiredOption('--output <dir>', 'where topk.(csv|parquet) and report.json go')
    .option('--candidates <file>', 'recommend only these columns: a CSV whose first column holds their keys')
    .option('--include-seen', 'let a row\'s observed columns be listed too (default: left out)')
    .option('--clip <lo,hi>', 'clip the written scores into [lo, hi] (the lists rank by the unclipped scores)', (v: string) => {
      const r = check(keyDefs.find((d) => d.key === 'clip')!, v);
      if (!r.ok) throw Errors.Usage(`--clip: ${r.why}, got "${v}"`);
      return r.value;
    })
    .option('--row-key <name>', 'row key column (default row)')
    .option('--col-key <name>', 'column key column (default col)')
    .option('--value-key <name>', 'value column (default value)')
    .addOption(new Option('--format <f>', 'topk file format (default: the input\'s)').choices(['csv', 'parquet']))
    .action(cmdRecommend);
  program
    .command('similar')
    .description("each item's most similar items by the cosine of the model's kernel columns (a learned item-item similarity), as CSV or Parquet")
    .requiredOption('--model <dir>', 'a model directory (OUTPUT/model of complete)')
    .requiredOption('--top-k <k>', 'similar items per item', intArg('--top-k', 1))
    .option('--items <file>', 'the items to list, a CSV whose first column holds their keys (default: every item)')
    .requiredOption('--out <file>', 'where the lists go: .csv or .parquet (item, similar, cosine, rank)')
    .action(cmdSimilar);
  program
    .command('experiment')
    .description("run one of the paper's comparisons (or the ratings one) and write a CSV table and SVG figures: completion-samples, regression-samples, time-vs-size, alpha, ratings")
    .argument('<name>', 'completion-samples | regression-samples | time-vs-size | alpha | ratings')
    .option('--quick', 'the small grid, minutes on 2 cores (the default)')
    .option('--medium', 'completion-samples: the published matrix size (500 x 500) in under an hour')
    .option('--full', 'the grid at the published sizes (hours)')
    .option('--smoke', 'the smallest grid, seconds: checks the command end to end, not the claims')
    .option('--output <dir>', 'where the CSV, SVG and report.json go (default out/experiments/NAME)')
    .option('--seeds <list>', 'comma-separated seeds instead of the grid\'s', (v: string) => {
      const seeds = v.split(',').map((x) => Number(x.trim()));
      if (seeds.length === 0 || seeds.some((x) => !Number.isInteger(x) || x < 0)) throw Errors.Usage(`--seeds: expected integers >= 0 separated by commas, got "${v}"`);
      return seeds;
    })
    .option('--resume', 'take the cells already in OUTPUT/NAME.cells.jsonl (a run in parts) instead of running them again')
    .option('--cells <first-last>', 'run only the grid\'s cells first to last (numbered from 0, in the grid\'s order; the report says how many it has)', (v: string) => {
      const m = /^(\d+)-(\d+)$/.exec(v.trim());
      if (m === null || Number(m[1]) > Number(m[2])) throw Errors.Usage(`--cells: expected FIRST-LAST with FIRST <= LAST, e.g. 0-99, got "${v}"`);
      return [Number(m[1]), Number(m[2])] as const;
    })
    .option('--quiet', 'no progress output')
    .action(cmdExperiment);
  program
    .command('worker')
    .description('take the row solves of complete --cluster runs from Redis until SIGTERM or SIGINT (the task in hand is finished, then exit 0); the password from LINRFM_CLUSTER_PASSWORD')
    .requiredOption('--cluster <url>', 'the Redis of the runs: redis://[USER@]HOST:PORT, rediss:// for TLS')
    .requiredOption('--cluster-storage <dir>', 'the shared storage as this host mounts it (the coordinators\' --cluster-storage)')
    .option('--cluster-prefix <p>', 'Redis key prefix of the queue (default lin-rfm, as the coordinators\')')
    .option('--cluster-user <name>', 'Redis ACL user (default: the URL\'s, else LINRFM_CLUSTER_USER)')
    .option('--cluster-wait <s>', 'seconds to wait for Redis at the start (default 60)', intArg('--cluster-wait', 1))
    .option('--threads <n>', 'threads solving a task\'s blocks (default 1: run one worker per core)', intArg('--threads', 1))
    .option('--cache-memory <size>', 'chunks kept in memory between sweeps, least recently used dropped first (default 2G)')
    .option('--lock-seconds <s>', 'a task whose worker is silent this long goes to another worker (default 30)', intArg('--lock-seconds', 1))
    .option('--quiet', 'no line per task (the other events still go to stderr)')
    .action(cmdWorker);
  program
    .command('cluster')
    .description('look at a cluster\'s Redis: `cluster status` lists the workers connected and the jobs running')
    .command('status')
    .description('the workers connected, the tasks by state and the jobs running (their latest sweep, tasks waiting and in hand)')
    .requiredOption('--cluster <url>', 'the Redis: redis://[USER@]HOST:PORT, rediss:// for TLS (the password from LINRFM_CLUSTER_PASSWORD)')
    .option('--cluster-prefix <p>', 'Redis key prefix of the queue (default lin-rfm)')
    .option('--cluster-user <name>', 'Redis ACL user (default: the URL\'s, else LINRFM_CLUSTER_USER)')
    .option('--cluster-wait <s>', 'seconds to wait for Redis (default 10)', intArg('--cluster-wait', 1))
    .option('--json', 'as JSON')
    .action(cmdClusterStatus);
  jobFlags(
    program
      .command('config')
      .description('show the effective settings of a job command (and where each came from) as JSON')
      .option('--print', 'print the settings')
      .addOption(new Option('--for <command>', 'the job command').choices([...jobCommands]).default('complete')),
    'all',
  ).action(cmdConfig);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      return 64;
    }
    if (e instanceof LinRfmError) {
      process.stderr.write(`lin-rfm: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof NumericError) {
      process.stderr.write(`lin-rfm: numeric failure: ${e.message}\n`);
      return exitCodes.E_NUMERIC;
    }
    const err = e as Error & { code?: string };
    if (err.code === 'EACCES' || err.code === 'ENOSPC' || err.code === 'EROFS') {
      process.stderr.write(`lin-rfm: ${err.message}\n`);
      return 74;
    }
    process.stderr.write(`lin-rfm: internal error: ${err.stack ?? String(e)}\n`);
    return 70;
  }
}
