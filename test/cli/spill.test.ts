// Spilling through the real executable: `complete --spill always` streams the matrix from Arrow IPC
// chunks and writes byte-identical outputs (predictions, top-k, the full matrix, the kernel) to an
// in-memory run (factored AGOP); a memory budget between the two
// estimates makes `--spill auto` spill; a budget below both is refused (exit 78); no chunk is left.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateMemory, estimateSpilledMemory, estimateStreamedMemory } from '../../pipeline/memory.ts';
import { completeUntilCheckpoint } from './run-helpers.ts';
import { hugeFooterFile } from '../io/helpers.ts';
import { writeTableParquetAtomic } from '../../io/parquet.ts';
import { BIN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-spill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = 31;
const [ROWS, COLS, OBSERVED, CHUNK] = [500, 300, 15_000, 3_000];
// a spilled run forms the AGOP in factored form; in memory, auto would pick the streamed form here
const common = ['--input', 'train.csv', '--predict', 'truth.csv', '--seed', '5', '--max-sweeps', '40', '--top-k', '3', '--full', '--agop', 'factored', '--quiet'];

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const bytes = (p: string): Buffer => readFileSync(join(dir, p));
const report = (out: string): { memory: { spilledChunks: number; estimateBytes: number }; sweeps: number } =>
  JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8'));

describe(`complete --spill (data seed ${SEED}, ${ROWS} x ${COLS}, ${OBSERVED} observed)`, () => {
  beforeAll(() => {
    const g = run('generate', '--rows', String(ROWS), '--cols', String(COLS), '--rank', '3', '--observed', String(OBSERVED), '--seed', String(SEED), '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '400');
    expect(g.code, g.stderr).toBe(0);
    const c = run('complete', ...common, '--spill', 'never', '--workers', '1', '--output', 'memory');
    expect(c.code, c.stderr).toBe(0);
    expect(report('memory').memory.spilledChunks).toBe(0);
  });

  it('--spill always on 2 workers: the same predictions, top-k and kernel bytes; the chunks are gone', () => {
    const c = run('complete', ...common, '--spill', 'always', '--spill-chunk', String(CHUNK), '--workers', '2', '--work-dir', 'chunks', '--output', 'spilled');
    expect(c.code, c.stderr).toBe(0);
    expect(report('spilled').memory.spilledChunks).toBeGreaterThanOrEqual(3);
    expect(report('spilled').sweeps).toBe(report('memory').sweeps);
    for (const f of ['predictions.csv', 'topk.csv', 'full.csv', 'model/kernel.arrow']) expect(bytes(`spilled/${f}`).equals(bytes(`memory/${f}`)), f).toBe(true);
    expect(existsSync(join(dir, 'chunks'))).toBe(false);
    expect(readdirSync(join(dir, 'spilled')).sort()).toEqual(['full.csv', 'model', 'predictions.csv', 'report.json', 'topk.csv']);
  });

  it('--spill auto spills under a budget between the two estimates, and the result is the same', () => {
    const inMemory = estimateMemory(ROWS, COLS, OBSERVED, 1).bytes;
    const spilled = estimateSpilledMemory(ROWS, COLS, OBSERVED, 1, CHUNK).bytes;
    expect(spilled).toBeLessThan(inMemory);
    const budget = Math.floor((inMemory + spilled) / 2);
    const c = run('complete', ...common, '--memory-budget', String(budget), '--spill-chunk', String(CHUNK), '--workers', '1', '--output', 'auto');
    expect(c.code, c.stderr).toBe(0);
    expect(report('auto').memory.spilledChunks).toBeGreaterThanOrEqual(3);
    expect(report('auto').memory.estimateBytes).toBe(spilled);
    expect(bytes('auto/predictions.csv').equals(bytes('memory/predictions.csv'))).toBe(true);
    // the default work directory is inside the output, and goes with the chunks
    expect(existsSync(join(dir, 'auto', 'spill'))).toBe(false);
  });

  it('a budget below both estimates is refused with both figures (exit 78), leaving no output', () => {
    // below what any spilled run takes: refused before reading
    const c = run('complete', ...common, '--memory-budget', '1000000', '--workers', '1', '--output', 'refused');
    expect(c.code).toBe(78);
    expect(c.stderr).toMatch(/needs about 0\.\d\d GB in memory and at least 0\.\d\d GB spilled through the work directory \(1 workers\)/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
    // above what any spilled run takes, below what this data's does: refused after the spilled load, its files removed
    const streamed = estimateStreamedMemory(ROWS, COLS, OBSERVED, 1, 1_000_000).bytes;
    const after = run('complete', ...common, '--memory-budget', String(streamed - 1), '--spill', 'always', '--kernel', 'dense', '--workers', '1', '--output', 'refused');
    expect(after.code).toBe(78);
    expect(after.stderr).toMatch(/needs an estimated 0\.\d\d GB even spilled in chunks of 1000000 entries \(500 x 300, 15000 observed, 1 workers, the dense kernel\)/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
    const tight = String(estimateMemory(ROWS, COLS, OBSERVED, 1).bytes - 1);
    const never = run('complete', ...common, '--memory-budget', tight, '--spill', 'never', '--kernel', 'dense', '--workers', '1', '--output', 'refused');
    expect(never.code).toBe(78);
    expect(never.stderr).toMatch(/--spill auto would stream it from disk/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
    // --kernel auto takes the low-rank kernel, which fits, and says why
    const auto = run('complete', ...common, '--memory-budget', tight, '--spill', 'never', '--workers', '1', '--output', 'auto-low-rank', '--max-sweeps', '3');
    expect(auto.code, auto.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'auto-low-rank', 'report.json'), 'utf8'));
    expect(report.kernel.form).toBe('low-rank');
    expect(report.kernel.why).toMatch(/does not fit the memory budget/);
  });

  it('SIGTERM during a spilled run: exit 143, the chunks removed, only the checkpoint left; --resume gives the same bytes', async () => {
    const args = [...common.filter((a) => a !== '--quiet'), '--spill', 'always', '--spill-chunk', String(CHUNK), '--workers', '2', '--work-dir', 'chunks-t', '--checkpoint-every', '3', '--output', 'termed'];
    const t = await completeUntilCheckpoint(dir, args, 6, 'SIGTERM');
    expect(t.seen).toBeGreaterThanOrEqual(6);
    expect(t.code, t.stderr).toBe(143);
    expect(existsSync(join(dir, 'chunks-t'))).toBe(false);
    expect(readdirSync(join(dir, 'termed'))).toEqual(['checkpoint.lrfm']);
    const r = run('complete', ...args, '--resume');
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['predictions.csv', 'topk.csv', 'model/kernel.arrow']) expect(bytes(`termed/${f}`).equals(bytes(`memory/${f}`)), f).toBe(true);
  });

  it('a Parquet input is checked from its footers before any data is read: in memory over budget (78), past 2^31 - 1 rows (65)', async () => {
    const n = 15_000;
    await writeTableParquetAtomic(join(dir, 'r.parquet'), [
      { name: 'row', values: Int32Array.from({ length: n }, (_, e) => e % 500) },
      { name: 'col', values: Int32Array.from({ length: n }, (_, e) => Math.floor(e / 500)) },
      { name: 'value', values: Float64Array.from({ length: n }, (_, e) => e % 7) },
    ]);
    const small = run('complete', '--input', 'r.parquet', '--memory-budget', '100M', '--spill', 'never', '--output', 'pre');
    expect(small.code).toBe(78);
    expect(small.stderr).toMatch(/loading 15000 rows in memory needs about 0\.12 GB, more than the budget of 0\.10 GB; --spill auto would load it/);
    writeFileSync(join(dir, 'huge.parquet'), hugeFooterFile(3e9));
    const huge = run('complete', '--input', 'huge.parquet', '--spill', 'never', '--output', 'pre');
    expect(huge.code).toBe(65);
    expect(huge.stderr).toMatch(/huge\.parquet: footer: 3000000000 rows: more observed entries than a load in memory takes \(2\^31 - 1\); --spill auto loads it/);
    // spilled, 64-bit counts are no obstacle: the read then finds what is wrong with this file
    const auto = run('complete', '--input', 'huge.parquet', '--output', 'pre');
    expect(auto.code).toBe(65);
    expect(auto.stderr).toMatch(/reading huge\.parquet in two passes/);
    expect(auto.stderr).toMatch(/lin-rfm: huge\.parquet: not a readable Parquet file/);
    expect(existsSync(join(dir, 'pre'))).toBe(false);
  });

  it('a wide input (more columns than rows), loaded spilled and so grouped by column: the same predictions and top-k bytes, the same full matrix in column order', () => {
    const g = run('generate', '--rows', '150', '--cols', '1500', '--rank', '3', '--observed', '30000', '--seed', String(SEED + 1), '--out', 'wide.csv', '--truth', 'wide-truth.csv', '--truth-count', '300');
    expect(g.code, g.stderr).toBe(0);
    const args = ['--input', 'wide.csv', '--predict', 'wide-truth.csv', '--seed', '5', '--max-sweeps', '15', '--top-k', '4', '--full', '--agop', 'factored', '--quiet', '--workers', '2'];
    const m = run('complete', ...args, '--spill', 'never', '--output', 'wide-memory');
    expect(m.code, m.stderr).toBe(0);
    const s = run('complete', ...args, '--spill', 'always', '--spill-chunk', '5000', '--work-dir', 'wide-chunks', '--output', 'wide-spilled');
    expect(s.code, s.stderr).toBe(0);
    expect(report('wide-spilled').memory.spilledChunks).toBeGreaterThanOrEqual(3);
    for (const f of ['predictions.csv', 'topk.csv', 'model/kernel.arrow']) expect(bytes(`wide-spilled/${f}`).equals(bytes(`wide-memory/${f}`)), f).toBe(true);
    const lines = (p: string): string[] => readFileSync(join(dir, p), 'utf8').trimEnd().split('\n');
    const [mem, spilled] = [lines('wide-memory/full.csv'), lines('wide-spilled/full.csv')];
    expect(spilled[0]).toBe(mem[0]);
    expect(spilled.length).toBe(1 + 150 * 1500);
    expect(spilled.slice(1)).not.toEqual(mem.slice(1));
    expect(spilled.slice(1).sort()).toEqual(mem.slice(1).sort());
    expect(existsSync(join(dir, 'wide-chunks'))).toBe(false);
  });
});
