// Pins the error module's contract: codes, exit codes and one-line messages that scripts depend on.

import { describe, expect, it } from 'vitest';
import { Errors, EXIT_INTERNAL, exitCodeOf, exitCodes, LinRfmError, quote } from '../../config/errors.ts';

describe('Errors', () => {
  it('gives each factory a stable code and its sysexits exit code', () => {
    const cases: [LinRfmError, string, number][] = [
      [Errors.Usage('unknown flag --foo'), 'E_USAGE', 64],
      [Errors.BadData('train.csv', 'line 17, column "value"', 'not a finite number: "abc"'), 'E_BAD_DATA', 65],
      [Errors.MissingInput('train.csv'), 'E_MISSING_INPUT', 66],
      [Errors.Io('out.csv', 'ENOSPC'), 'E_IO', 74],
      [Errors.Config('rank', -1, 'must be positive'), 'E_CONFIG', 78],
    ];
    for (const [err, code, exit] of cases) {
      expect(err).toBeInstanceOf(LinRfmError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('LinRfmError');
      expect(err.code).toBe(code);
      expect(err.exitCode).toBe(exit);
      expect(exitCodes[err.code]).toBe(exit);
    }
  });

  it('keeps the exit codes distinct', () => {
    const values = Object.values(exitCodes);
    expect(new Set(values).size).toBe(values.length);
  });

  it('formats messages as file: where: why', () => {
    expect(Errors.BadData('train.csv', 'line 17, column "value"', 'not a finite number: "abc"').message).toBe(
      'train.csv: line 17, column "value": not a finite number: "abc"',
    );
    expect(Errors.BadData('train.csv', '', 'no rows').message).toBe('train.csv: no rows');
    expect(Errors.MissingInput('train.csv').message).toBe('train.csv: no such file');
    expect(Errors.MissingInput('train.csv', 'permission denied').message).toBe('train.csv: permission denied');
    expect(Errors.Io('out.csv', 'disk full').message).toBe('out.csv: disk full');
    expect(Errors.Usage('missing <input>').message).toBe('missing <input>');
    expect(Errors.Config('lambda', 'abc', 'must be a number').message).toBe('config lambda = "abc": must be a number');
    expect(Errors.Config('rank', 0, 'must be >= 1').message).toBe('config rank = 0: must be >= 1');
  });

  it('never lets a message span lines', () => {
    const err = Errors.BadData('a\nb.csv', 'line 2', 'bad\r\nthing\rhere');
    expect(err.message).not.toMatch(/[\r\n]/);
    expect(err.message).toBe('a\\nb.csv: line 2: bad\\nthing\\nhere');
  });

  it('keeps the cause when given one', () => {
    const cause = new Error('EIO');
    expect(Errors.Io('x', 'read failed', { cause }).cause).toBe(cause);
  });

  it('maps any thrown value to an exit code', () => {
    expect(exitCodeOf(Errors.Usage('x'))).toBe(64);
    expect(exitCodeOf(new TypeError('bug'))).toBe(EXIT_INTERNAL);
    expect(exitCodeOf('string')).toBe(70);
  });
});

describe('quote', () => {
  it('shows strings quoted and escaped, other values plainly', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('')).toBe('""');
    expect(quote(' a"b\n')).toBe('" a\\"b\\n"');
    expect(quote(1.5)).toBe('1.5');
    expect(quote(NaN)).toBe('NaN');
    expect(quote(undefined)).toBe('undefined');
    expect(quote(null)).toBe('null');
    expect(quote({ a: 1 })).toBe('{"a":1}');
  });

  it('truncates long values', () => {
    expect(quote('x'.repeat(200), 10)).toBe(`"${'x'.repeat(10)}..."`);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(quote(cyclic)).toBe('[object Object]');
  });
});
