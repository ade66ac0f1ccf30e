// The effective settings of a job command: flags > environment (LINRFM_*) > config file (--config
// job.json or job.yaml, or LINRFM_CONFIG) > defaults. A key nobody knows, or a value out of range,
// is an error that names where it came from, the key and the value.

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Errors, LinRfmError } from './errors.ts';
import { envName, keyDefs, keysOf, otherEnv, shownValue, type JobCommand, type KeyDef } from './table.ts';

export interface Resolved {
  values: Record<string, unknown>;
  /** Where each value came from: 'flag', 'env LINRFM_X', 'file PATH', 'default'. */
  sources: Record<string, string>;
  /** What was ignored (unknown LINRFM_* variables), one line each, for the command to print. */
  warnings: string[];
}

/** The text of a flag or an environment variable as the schema's input (undefined: not readable as the kind). */
export function fromText(def: KeyDef, text: string): unknown {
  switch (def.kind) {
    case 'number':
    case 'int': {
      const x = text.trim() === '' ? Number.NaN : Number(text);
      return Number.isNaN(x) ? undefined : x;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(t)) return false;
      return undefined;
    }
    default:
      return text;
  }
}

/** The schema's verdict as one phrase, or the parsed value. */
export function check(def: KeyDef, value: unknown): { ok: true; value: unknown } | { ok: false; why: string } {
  if (value === undefined) return { ok: false, why: `expected ${def.kind === 'int' ? 'an integer' : def.kind === 'boolean' ? 'true or false' : `a ${def.kind}`}` };
  const r = def.schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  const why = issue.code === 'invalid_value' && def.choices ? `must be one of ${def.choices.join(', ')}` : issue.message;
  return { ok: false, why };
}

function nearest(key: string, candidates: readonly string[]): string | null {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length]!;
  };
  let best: string | null = null;
  let bd = 3;
  for (const c of candidates) {
    const x = dist(key, c);
    if (x < bd) {
      bd = x;
      best = c;
    }
  }
  return best;
}

function unknownKey(where: string, key: string, value: unknown, known: readonly string[]): LinRfmError {
  const near = nearest(key, known);
  return Errors.Config(`${key} (${where})`, value, `unknown setting${near ? ` (did you mean ${near}?)` : ''}`);
}

/** The config file's settings (checked against the table; keys of the other job commands are allowed and ignored). */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw Errors.MissingInput(path, 'no such config file');
  const text = readFileSync(path, 'utf8');
  let data: unknown;
  const ext = extname(path).toLowerCase();
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw Errors.Config(`file ${path}`, ext === '.json' ? 'JSON' : 'YAML', `cannot be parsed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw Errors.Config(`file ${path}`, typeof data, 'must be a mapping of settings to values');
  return data as Record<string, unknown>;
}

/**
 * Resolves a job command's settings. `flags` holds the values given on the command line (already
 * checked by the flag parsers); `env` is process.env or a stand-in; `defaults` gives the defaults
 * the table leaves to others (the engine's options, by setting key).
 */
export function resolveConfig(
  command: JobCommand,
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
  configPath?: string,
  requireAll = true,
  defaults: Readonly<Record<string, unknown>> = {},
): Resolved {
  const defs = keysOf(command);
  const values: Record<string, unknown> = {};
  const warnings: string[] = [];
  const sources: Record<string, string> = {};
  const allKeys = keyDefs.map((k) => k.key);

  const file = configPath ?? env['LINRFM_CONFIG'];
  if (file !== undefined && file !== '') {
    const data = readConfigFile(file);
    for (const [key, raw] of Object.entries(data)) {
      const d = keyDefs.find((k) => k.key === key);
      if (d === undefined) throw unknownKey(`file ${file}`, key, raw, allKeys);
      if (!d.commands.includes(command)) continue;
      const r = check(d, raw);
      if (!r.ok) throw Errors.Config(`${key} (file ${file})`, shownValue(key, raw), r.why);
      values[key] = r.value;
      sources[key] = `file ${file}`;
    }
  }

  const envNames = new Map(keyDefs.map((k) => [envName(k.key), k]));
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('LINRFM_') || otherEnv.has(name) || text === undefined) continue;
    const d = envNames.get(name);
    if (d === undefined) {
      // the environment is shared with everything else a machine runs: a stray variable must not stop every job
      const near = nearest(name, [...envNames.keys()]);
      warnings.push(`ignoring the environment variable ${name}: not a setting${near ? ` (did you mean ${near}?)` : ''}`);
      continue;
    }
    if (!d.commands.includes(command)) continue;
    const r = check(d, fromText(d, text));
    if (!r.ok) throw Errors.Config(`${name} (environment)`, shownValue(d.key, text), r.why);
    values[d.key] = r.value;
    sources[d.key] = `env ${name}`;
  }

  for (const d of defs) {
    if (flags[d.key] !== undefined) {
      values[d.key] = flags[d.key];
      sources[d.key] = 'flag';
    } else if (values[d.key] === undefined) {
      const dflt = d.default ?? defaults[d.key] ?? defaultFor(command, d.key, values);
      if (dflt !== undefined) {
        values[d.key] = dflt;
        sources[d.key] = 'default';
      }
    }
    if (requireAll && values[d.key] === undefined && d.required?.includes(command)) {
      throw Errors.Usage(`${command}: ${d.flag.split(' ')[0]} is required (or ${envName(d.key)}, or "${d.key}" in the config file)`);
    }
  }
  // in the table's order, so that --print reads like the help
  const order = (o: Record<string, unknown>): Record<string, never> =>
    Object.fromEntries(keyDefs.filter((d) => d.key in o).map((d) => [d.key, o[d.key]])) as Record<string, never>;
  return { values: order(values), sources: order(sources), warnings };
}

/**
 * Defaults that depend on the machine, the command or the output folder (settled earlier in the
 * table): the core count, 80% of the memory, the demo's output, the work directory and checkpoint.
 */
function defaultFor(command: JobCommand, key: string, values: Record<string, unknown>): unknown {
  const output = values['output'];
  switch (key) {
    case 'workers':
      return availableParallelism();
    case 'memoryBudget':
      return Math.floor(0.8 * totalmem());
    case 'output':
      return command === 'demo' ? 'out/demo' : undefined;
    case 'workDir':
      return typeof output === 'string' ? join(output, 'spill') : undefined;
    case 'checkpoint':
      return typeof output === 'string' ? join(output, 'checkpoint.lrfm') : undefined;
    default:
      return undefined;
  }
}
