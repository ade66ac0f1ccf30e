// What an output folder holds: every file (relative path -> SHA-256), to compare a folder before and
// after a run.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`; dot-files (a lock, a staging directory) only with `withDot`. */
export function snapshot(dir: string, withDot = false): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    for (const f of readdirSync(d).sort()) {
      if (f.startsWith('.') && !withDot) continue;
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p, `${rel}${f}/`);
      else files.set(`${rel}${f}`, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir, '');
  return files;
}
