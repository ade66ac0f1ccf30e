// The shared storage of a scale-out run: a directory (or file:// URL) every host mounts; chunk
// names are relative to it and cannot leave it; other schemes are refused for now.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodes, LinRfmError } from '../../../config/errors.ts';
import { openStorage } from '../../../pipeline/cluster/storage.ts';

const root = mkdtempSync(join(tmpdir(), 'linrfm-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const codeOf = (f: () => unknown): number | null => {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof LinRfmError ? err.exitCode : -1;
  }
};

describe('shared storage', () => {
  it('names a job\'s chunk relative to the directory and reads it back, by path or file:// URL', () => {
    for (const spec of [root, `file://${root}`]) {
      const s = openStorage(spec);
      const dir = s.jobDir('0123456789abcdef');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'chunk-00000.arrow'), 'bytes');
      const name = s.nameOf(join(dir, 'chunk-00000.arrow'));
      expect(name).toBe('job-0123456789abcdef/chunk-00000.arrow');
      expect(Buffer.from(s.read(name, 5)).toString()).toBe('bytes');
      expect(() => s.read(name, 4)).toThrow(/5 bytes, more than the 4/);
    }
  });

  it('refuses a name leaving the directory, a missing directory (66) and other schemes (64)', () => {
    const s = openStorage(root);
    expect(() => s.read('../etc/passwd', 1e9)).toThrow(/leaves the storage/);
    expect(codeOf(() => openStorage(join(root, 'missing')))).toBe(exitCodes.E_MISSING_INPUT);
    expect(codeOf(() => openStorage('s3://bucket/prefix'))).toBe(exitCodes.E_USAGE);
  });
});
