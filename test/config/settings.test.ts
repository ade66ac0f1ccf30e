// The typed settings and the settings table describe the same keys for every command.

import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingKeys, settingsOf } from '../../config/settings.ts';
import { jobCommands, keysOf } from '../../config/table.ts';
import { resolveConfig } from '../../config/load.ts';
import { engineDefaults } from '../../cli/options.ts';

describe('typed settings', () => {
  it.each(jobCommands)('the table lists exactly the keys of the %s settings type', (command) => {
    expect(keysOf(command).map((k) => k.key).sort()).toEqual(Object.keys(settingKeys[command]).sort());
  });

  it('resolved settings come out typed, with every engine default filled', () => {
    const s = settingsOf('complete', resolveConfig('complete', { input: 'a.csv', output: 'o', topK: 3 }, {}, undefined, true, engineDefaults).values);
    expect(s.topK).toBe(3);
    expect(s.momentum).toBe(engineDefaults['momentum']);
    expect(s.validation).toBe(engineDefaults['validation']);
    expect(s.duplicates).toBe('error');
    // defaults that depend on the machine and the output folder are filled too (config --print shows them)
    expect(s.memoryBudget).toBe(Math.floor(0.8 * totalmem()));
    expect([s.workDir, s.checkpoint]).toEqual([join('o', 'spill'), join('o', 'checkpoint.lrfm')]);
  });

  it('refuses a value that is not one of the command\'s settings', () => {
    expect(() => settingsOf('predict', { center: 'bias' })).toThrow(/center is not one of its settings/);
  });
});
