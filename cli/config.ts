// `lin-rfm config --print`: the effective settings of a job command and where each came from, as JSON.

import { Errors } from '../config/errors.ts';
import { resolveConfig } from '../config/load.ts';
import { keyDefs, keysOf, shownValues, type JobCommand } from '../config/table.ts';
import { engineDefaults } from './options.ts';

export async function cmdConfig(flags: Record<string, unknown>): Promise<void> {
  const { config, print, for: command, ...given } = flags;
  if (print !== true) throw Errors.Usage('config: nothing to do (use --print)');
  const cmd = command as JobCommand;
  const allowed = new Set(keysOf(cmd).map((k) => k.key));
  for (const k of Object.keys(given)) if (!allowed.has(k)) throw Errors.Usage(`config --for ${cmd}: ${keyDefs.find((d) => d.key === k)!.flag.split(' ')[0]} does not apply to ${cmd}`);
  // --print shows the job without requiring its inputs: required keys may be missing here
  const r = resolveConfig(cmd, given, process.env, config as string | undefined, false, engineDefaults);
  process.stdout.write(JSON.stringify({ command: cmd, config: shownValues(r.values), sources: r.sources }, null, 2) + '\n');
}
