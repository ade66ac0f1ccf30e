// The README's library example runs as written, against the compiled package (imported by its name,
// `lin-rfm`, as a user's code would), and says what it claims.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv } from './cli/helpers.ts';

const ROOT = join(import.meta.dirname, '..');

/** The first ```js block after the heading `## Library`. */
function libraryExample(readme: string): string {
  const at = readme.indexOf('\n## Library\n');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  if (at < 0 || m === null) throw new Error('README.md: no ```js block under "## Library"');
  return m[1]!;
}

describe('README', () => {
  it('the library example runs and recovers the matrix it completes', ({ annotate }) => {
    // inside the package, so that `lin-rfm` resolves to this package's own exports
    const dir = join(ROOT, 'out', `readme-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const file = join(dir, 'example.mjs');
      writeFileSync(file, libraryExample(readFileSync(join(ROOT, 'README.md'), 'utf8')));
      const r = spawnSync(process.execPath, [file], { cwd: dir, env: cleanEnv(), encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      void annotate(r.stdout.trim());
      const [first, second] = r.stdout.trim().split('\n');
      const rel = /relative error (\S+)$/.exec(first!);
      expect(rel).not.toBeNull();
      expect(Number(rel![1])).toBeLessThan(1e-2);
      const guess = /column 1: (\S+) \(true (\S+)\)/.exec(second!);
      expect(guess).not.toBeNull();
      expect(Math.abs(Number(guess![1]) - Number(guess![2]))).toBeLessThan(0.05 * Math.max(1, Math.abs(Number(guess![2]))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
