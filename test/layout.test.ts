// The layout's rules (docs/DESIGN.md, "Folders"): imports flow one way, paper/ and bench/ use public
// entry points only, and no source file grows past 400 lines. Every import of every source file is
// parsed; a broken rule fails naming the file, the line and the import.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['kernels', 'engine', 'io', 'config', 'pipeline', 'cli', 'paper', 'bench'] as const;
type Folder = (typeof FOLDERS)[number];
/** The public entry point of each folder that has one. */
const ENTRY: Partial<Record<Folder, string>> = {
  kernels: 'kernels/index.ts', engine: 'engine/index.ts', pipeline: 'pipeline/index.ts', paper: 'paper/index.ts',
};

/**
 * What a folder may import of another: 'all' (any file, values and types), 'types' (type-only
 * imports), 'entry' (its public entry point only). A folder missing from the map may not be imported.
 */
const RULES: Record<Folder, Partial<Record<Folder, 'all' | 'types' | 'entry'>>> = {
  kernels: {},
  engine: { kernels: 'all' },
  config: { engine: 'types' },
  io: { config: 'all', engine: 'types' },
  pipeline: { engine: 'all', kernels: 'all', io: 'all', config: 'all' },
  cli: { pipeline: 'all', engine: 'all', kernels: 'all', io: 'all', config: 'all', paper: 'all' },
  paper: { kernels: 'entry', engine: 'entry', pipeline: 'entry' },
  bench: { kernels: 'entry', engine: 'entry', pipeline: 'entry', paper: 'entry' },
};

export interface SourceFile {
  path: string;
  text: string;
}

interface Import {
  line: number;
  spec: string;
  typeOnly: boolean;
}

/** Every static import, re-export and dynamic import of a file, with its line. */
export function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const lineAt = (i: number): number => text.slice(0, i).split('\n').length;
  const stat = /(^|\n)[ \t]*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (let m = stat.exec(text); m !== null; m = stat.exec(text)) {
    const names = m[4]!;
    const braces = /^\{([\s\S]*)\}$/.exec(names.trim());
    const allTypes = braces !== null && braces[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').every((s) => s.startsWith('type '));
    out.push({ line: lineAt(m.index + m[1]!.length), spec: m[5]!, typeOnly: m[3] !== undefined || allTypes });
  }
  const bare = /(^|\n)[ \t]*import\s*['"]([^'"]+)['"]/g;
  for (let m = bare.exec(text); m !== null; m = bare.exec(text)) out.push({ line: lineAt(m.index + m[1]!.length), spec: m[2]!, typeOnly: false });
  const dyn = /(typeof\s+)?import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = dyn.exec(text); m !== null; m = dyn.exec(text)) out.push({ line: lineAt(m.index), spec: m[2]!, typeOnly: m[1] !== undefined });
  return out.sort((a, b) => a.line - b.line);
}

/** The broken rules of a set of files, one line each: `FILE:LINE imports SPEC: why`. */
export function layoutViolations(files: SourceFile[]): string[] {
  const bad: string[] = [];
  for (const f of files) {
    const from = f.path.split('/')[0] as Folder;
    if (!FOLDERS.includes(from)) continue;
    for (const imp of importsOf(f.text)) {
      if (!imp.spec.startsWith('.')) continue;
      const target = normalize(join(dirname(f.path), imp.spec));
      const to = target.split('/')[0] as Folder;
      if (to === from) continue;
      const where = `${f.path}:${imp.line} imports ${imp.spec}`;
      const rule = RULES[from][to];
      if (!FOLDERS.includes(to) || rule === undefined) bad.push(`${where}: ${from}/ may not import ${to}/`);
      else if (rule === 'types' && !imp.typeOnly) bad.push(`${where}: ${from}/ may take only types from ${to}/ (use import type)`);
      else if (rule === 'entry' && target !== ENTRY[to]) bad.push(`${where}: ${from}/ may use ${to}/ only through ${ENTRY[to]}`);
    }
  }
  return bad;
}

function sources(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|mjs)$/.test(e.name)) out.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
  }
  return out;
}

const tree = FOLDERS.flatMap((f) => sources(f));

describe('layout', () => {
  it('reads the whole tree', () => {
    for (const f of FOLDERS) expect(tree.some((s) => s.path.startsWith(`${f}/`))).toBe(true);
    expect(tree.length).toBeGreaterThan(100);
  });

  it('imports flow one way, and paper/ and bench/ use public entry points only', () => {
    expect(layoutViolations(tree)).toEqual([]);
  });

  it('fails on planted violations, naming the file, the line and the import', () => {
    const planted: SourceFile[] = [
      { path: 'kernels/x.ts', text: "// a kernel\n\nimport { solveRow } from '../engine/sweep.ts';\n" },
      { path: 'engine/y.ts', text: "import {\n  complete,\n} from '../pipeline/run.ts';\n" },
      { path: 'io/z.ts', text: "import { defaultEngineOptions } from '../engine/options.ts';\nimport type { EngineOptions } from '../engine/options.ts';\nimport { type Csr } from '../engine/csr.ts';\n" },
      { path: 'paper/w.ts', text: "const m = await import('../pipeline/run.ts');\nimport { complete } from '../pipeline/index.ts';\n" },
      { path: 'bench/v.ts', text: "export { dgemm } from '../kernels/blas.ts';\n" },
      { path: 'config/u.ts', text: "import '../cli/main.ts';\n" },
    ];
    expect(layoutViolations(planted)).toEqual([
      'kernels/x.ts:3 imports ../engine/sweep.ts: kernels/ may not import engine/',
      'engine/y.ts:1 imports ../pipeline/run.ts: engine/ may not import pipeline/',
      'io/z.ts:1 imports ../engine/options.ts: io/ may take only types from engine/ (use import type)',
      'paper/w.ts:1 imports ../pipeline/run.ts: paper/ may use pipeline/ only through pipeline/index.ts',
      'bench/v.ts:1 imports ../kernels/blas.ts: bench/ may use kernels/ only through kernels/index.ts',
      'config/u.ts:1 imports ../cli/main.ts: config/ may not import cli/',
    ]);
  });

  it('no source file is over 400 lines (the AssemblyScript sources aside)', () => {
    const long = [...tree, ...sources('test'), ...sources('scripts'), ...sources('bin')]
      .filter((f) => !f.path.startsWith('kernels/wasm/'))
      .map((f) => ({ path: f.path, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });
});
