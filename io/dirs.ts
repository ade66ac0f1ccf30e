// mkdir -p without Node's recursive mkdir, which loops forever where a directory cannot be made
// although its parent exists (under /proc, for one).

import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Makes `dir` and its missing parents, one level at a time; returns the first directory it made
 * (undefined: `dir` existed), as mkdirSync's recursive form does. Errors are the system's
 * (ENOTDIR when a path component is a file).
 */
export function makeDirs(dir: string): string | undefined {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      if (statSync(at).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: 'ENOTDIR', path: at });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(at);
      if (dirname(at) === at) break;
    }
  }
  for (let k = missing.length - 1; k >= 0; k--) {
    try {
      mkdirSync(missing[k]!);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return missing.at(-1);
}
