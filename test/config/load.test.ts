// Settings resolution: flags > environment > config file > defaults, with errors that name the
// source, the key and the value.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinRfmError } from '../../config/errors.ts';
import { envName, keyDefs } from '../../config/table.ts';
import { resolveConfig } from '../../config/load.ts';
import { defaultEngineOptions } from '../../engine/options.ts';
import { engineDefaults } from '../../cli/options.ts';
import { BIN } from '../cli/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function failure(f: () => unknown): LinRfmError {
  try {
    f();
  } catch (e) {
    if (e instanceof LinRfmError) return e;
    throw e;
  }
  throw new Error('expected a LinRfmError');
}

describe('resolveConfig', () => {
  const yaml = file('job.yaml', 'input: data/ratings.parquet\noutput: out/job\nmaxSweeps: 50\nlambda: 0.1\npatience: 7\ncenter: bias\nmemoryBudget: 2G\n');
  const json = file('job.json', JSON.stringify({ input: 'a.csv', output: 'o', maxSweeps: 40, topK: 5 }));

  it('takes each value from the highest source that gives it', () => {
    const r = resolveConfig('complete', { patience: 3 }, { LINRFM_MAX_SWEEPS: '70', LINRFM_KERNELS: 'js', LINRFM_FMA: '0' }, yaml, true, engineDefaults);
    expect(r.values['patience']).toBe(3);
    expect(r.sources['patience']).toBe('flag');
    expect(r.values['maxSweeps']).toBe(70);
    expect(r.sources['maxSweeps']).toBe('env LINRFM_MAX_SWEEPS');
    expect(r.values['lambda']).toBe(0.1);
    expect(r.values['center']).toBe('bias');
    expect(r.values['memoryBudget']).toBe(2e9);
    expect(r.sources['lambda']).toBe(`file ${yaml}`);
    expect(r.values['momentum']).toBe(defaultEngineOptions.momentum);
    expect(r.values['validation']).toBe(defaultEngineOptions.validationFraction);
    expect(r.sources['momentum']).toBe('default');
    expect(r.values['rowKey']).toBe('row');
  });

  it('reads JSON files and LINRFM_CONFIG', () => {
    const r = resolveConfig('complete', {}, { LINRFM_CONFIG: json });
    expect(r.values['maxSweeps']).toBe(40);
    expect(r.values['topK']).toBe(5);
  });

  it('keys of another job command are allowed in a shared file and ignored', () => {
    const shared = file('shared.yaml', 'input: a.csv\noutput: o\nmodel: o/model\npredict: p.csv\ncenter: none\n');
    expect(resolveConfig('predict', {}, {}, shared).values['model']).toBe('o/model');
    expect(resolveConfig('predict', {}, {}, shared).values['center']).toBeUndefined();
    expect(resolveConfig('complete', {}, {}, shared).values['center']).toBe('none');
  });

  it('the README documents every setting (flag and key)', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    for (const d of keyDefs) {
      expect(readme, d.key).toContain('`' + d.key + '`');
      expect(readme, d.flag).toContain(d.flag.split(' ')[0]!);
    }
  });

  it('every setting has a distinct LINRFM_ name', () => {
    const names = keyDefs.map((k) => envName(k.key));
    expect(new Set(names).size).toBe(names.length);
    expect(envName('maxSweeps')).toBe('LINRFM_MAX_SWEEPS');
  });

  it('errors name the source, the key and the value, with the config exit code', () => {
    const e1 = failure(() => resolveConfig('complete', {}, {}, file('typo.yaml', 'input: a\noutput: o\nmaxSweep: 3\n')));
    expect(e1.exitCode).toBe(78);
    expect(e1.message).toBe(`config maxSweep (file ${join(dir, 'typo.yaml')}) = 3: unknown setting (did you mean maxSweeps?)`);
    const e2 = failure(() => resolveConfig('complete', {}, { LINRFM_MOMENTUM: '1.5' }, json));
    expect(e2.message).toBe('config LINRFM_MOMENTUM (environment) = "1.5": must be in [0, 1)');
    const e3 = failure(() => resolveConfig('complete', {}, { LINRFM_MAX_SWEEPS: 'many' }, json));
    expect(e3.message).toBe('config LINRFM_MAX_SWEEPS (environment) = "many": expected an integer');
    const e4 = failure(() => resolveConfig('complete', {}, {}, file('range.json', '{"input":"a","output":"o","lambda":-1}')));
    expect(e4.message).toMatch(/^config lambda \(file .*range\.json\) = -1: must be > 0$/);
    const e5 = failure(() => resolveConfig('complete', {}, {}, file('choice.yaml', 'center: median\n')));
    expect(e5.message).toMatch(/= "median": must be one of auto, none, mean, bias, side-bias$/);
    // an unknown environment variable is ignored with a warning (the environment is shared); an unknown file key is not
    const w = resolveConfig('complete', { input: 'a.csv', output: 'o' }, { LINRFM_BOGUS: '1', LINRFM_MAX_SWEPS: '3' });
    expect(w.warnings).toEqual([
      'ignoring the environment variable LINRFM_BOGUS: not a setting',
      'ignoring the environment variable LINRFM_MAX_SWEPS: not a setting (did you mean LINRFM_MAX_SWEEPS?)',
    ]);
    expect(w.values['maxSweeps']).toBeUndefined();
    const e7 = failure(() => resolveConfig('complete', {}, {}, file('broken.json', '{"maxSweeps": 3,')));
    expect(e7.exitCode).toBe(78);
    expect(e7.message).toMatch(/broken\.json = "JSON": cannot be parsed/);
    const e8 = failure(() => resolveConfig('complete', {}, {}, join(dir, 'absent.yaml')));
    expect(e8.exitCode).toBe(66);
    const e9 = failure(() => resolveConfig('complete', { output: 'o' }, {}));
    expect(e9.exitCode).toBe(64);
    expect(e9.message).toBe('complete: --input is required (or LINRFM_INPUT, or "input" in the config file)');
    const e10 = failure(() => resolveConfig('complete', {}, {}, file('budget.yaml', 'memoryBudget: lots\n')));
    expect(e10.message).toMatch(/memoryBudget .* = "lots": expected a size such as 4G/);
  });
});

describe('lin-rfm config --print', () => {
  it('prints the effective settings and their sources; a bad flag is a usage error', () => {
    const cfg = file('print.yaml', 'maxSweeps: 50\nlambda: 0.2\n');
    const r = spawnSync(process.execPath, [BIN, 'config', '--print', '--config', cfg, '--tol', '1e-5'], {
      encoding: 'utf8',
      env: { ...process.env, LINRFM_MAX_SWEEPS: '70' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { command: string; config: Record<string, unknown>; sources: Record<string, string> };
    expect(out.command).toBe('complete');
    expect(out.config).toMatchObject({ maxSweeps: 70, lambda: 0.2, tol: 1e-5, center: 'auto', checkpointEvery: 10 });
    expect(out.sources).toMatchObject({ maxSweeps: 'env LINRFM_MAX_SWEEPS', lambda: `file ${cfg}`, tol: 'flag', center: 'default' });
    const bad = spawnSync(process.execPath, [BIN, 'config', '--print', '--momentum', '2'], { encoding: 'utf8' });
    expect(bad.status).toBe(64);
    expect(bad.stderr.trim()).toBe('lin-rfm: --momentum: must be in [0, 1), got "2"');
  });
});
