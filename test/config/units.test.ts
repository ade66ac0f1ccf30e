// Sizes in settings.

import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../config/units.ts';

describe('units', () => {
  it('parses sizes in bytes, SI and binary units', () => {
    expect(parseBytes('1500000000')).toBe(1.5e9);
    expect(parseBytes('1500M')).toBe(1.5e9);
    expect(parseBytes('4G')).toBe(4e9);
    expect(parseBytes('4gb')).toBe(4e9);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5k')).toBe(1500);
    expect(Number.isNaN(parseBytes('lots'))).toBe(true);
    expect(Number.isNaN(parseBytes('-3G'))).toBe(true);
  });
});
