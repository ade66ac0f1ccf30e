// The low-rank kernel through the executable: --kernel and --kernel-rank, the model it writes and
// predict's fold-in from it, top-k, report.json's kernel section, --kernel auto's choice, a run
// stopped by SIGTERM and resumed ending with the bytes of one that never stopped, and a spilled run.

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv, runCli } from './helpers.ts';
import { completeUntilCheckpoint } from './run-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-lowrank-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = 31;
const run = (...args: string[]): ReturnType<typeof runCli> => runCli(dir, args);
const text = (p: string): string => readFileSync(join(dir, p), 'utf8');
const common = ['--input', 'train.csv', '--predict', 'truth.csv', '--kernel', 'low-rank', '--kernel-rank', '6', '--seed', '2', '--quiet'];

describe(`lin-rfm complete --kernel low-rank (data seed ${SEED})`, () => {
  beforeAll(() => {
    const g = run('generate', '--rows', '400', '--cols', '150', '--rank', '3', '--observed', '12000', '--seed', String(SEED), '--out', 'train.csv', '--truth', 'truth.csv', '--truth-count', '400');
    expect(g.status, g.stderr).toBe(0);
    const c = run('complete', ...common, '--output', 'low', '--top-k', '3', '--workers', '2');
    expect(c.status, c.stderr).toBe(0);
  }, 120_000);

  it('predicts the held-out truth, and reports the kernel it chose with the spectrum', () => {
    const pred = readCsv(join(dir, 'low', 'predictions.csv'));
    const truth = readCsv(join(dir, 'truth.csv'));
    let num = 0;
    let den = 0;
    for (const [e, t] of truth.entries()) {
      expect(pred[e]!.slice(0, 2)).toEqual(t.slice(0, 2));
      num += (Number(pred[e]![2]) - Number(t[2])) ** 2;
      den += Number(t[2]) ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-2);
    const report = JSON.parse(text('low/report.json'));
    expect(report.kernel.form).toBe('low-rank');
    expect(report.kernel.rank).toBe(6);
    expect(report.kernel.why).toMatch(/--kernel low-rank/);
    expect(report.kernel.spectrum.top).toHaveLength(6);
    // rank-3 data: the tail is small against the top
    expect(report.kernel.spectrum.tailShare).toBeLessThan(0.01);
    expect(report.history[0].agop).toBe('low-rank');
    // top-k: 3 per row, none observed
    const topk = readCsv(join(dir, 'low', 'topk.csv'));
    expect(topk.length).toBe(400 * 3);
    const observed = new Set(readCsv(join(dir, 'train.csv')).map((r) => `${r[0]},${r[1]}`));
    for (const r of topk) expect(observed.has(`${r[0]},${r[1]}`)).toBe(false);
  });

  it('writes a low-rank model that predict folds in to complete\'s predictions, byte for byte', () => {
    const meta = JSON.parse(text('low/model/model.json'));
    expect(meta.format).toBe('lin-rfm-model/2');
    expect(meta.kernel.rank).toBe(6);
    expect(meta.kernel.w).toHaveLength(6);
    const f = run('predict', '--model', join('low', 'model'), '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'fold', '--quiet');
    expect(f.status, f.stderr).toBe(0);
    expect(text('fold/predictions.csv')).toBe(text('low/predictions.csv'));
  });

  it('a low-rank model whose kernel fields are damaged is refused with exit 65, naming the field', () => {
    const meta = JSON.parse(text('low/model/model.json'));
    cpSync(join(dir, 'low', 'model'), join(dir, 'broken'), { recursive: true });
    writeFileSync(join(dir, 'broken', 'model.json'), JSON.stringify({ ...meta, kernel: { ...meta.kernel, w: meta.kernel.w.slice(1) } }));
    const f = run('predict', '--model', 'broken', '--input', 'train.csv', '--predict', 'truth.csv', '--output', 'nope');
    expect(f.status).toBe(65);
    expect(f.stderr).toMatch(/kernel\.w/);
    expect(existsSync(join(dir, 'nope', 'predictions.csv'))).toBe(false);
  });

  it('1 worker gives the bytes of 2', () => {
    expect(run('complete', ...common, '--output', 'one', '--top-k', '3', '--workers', '1').status).toBe(0);
    for (const f of ['predictions.csv', 'topk.csv', 'model/kernel.arrow', 'model/model.json']) expect(text(`one/${f}`), f).toBe(text(`low/${f}`));
  });

  it('stopped by SIGTERM after a checkpoint and resumed, ends with the bytes of the uninterrupted run', async () => {
    const args = [...common.filter((a) => a !== '--quiet'), '--max-sweeps', '40', '--tol', '0', '--patience', '1000', '--workers', '1', '--checkpoint-every', '5'];
    const whole = run('complete', ...args, '--output', 'whole', '--quiet');
    expect(whole.status, whole.stderr).toBe(0);
    const stopped = await completeUntilCheckpoint(dir, [...args, '--output', 'cut'], 10, 'SIGTERM');
    expect(stopped.seen).toBeGreaterThanOrEqual(10);
    expect(stopped.code).toBe(143);
    expect(existsSync(join(dir, 'cut', 'checkpoint.lrfm'))).toBe(true);
    const resumed = run('complete', ...args, '--output', 'cut', '--resume', '--quiet');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(text('cut/predictions.csv')).toBe(text('whole/predictions.csv'));
    expect(text('cut/model/kernel.arrow')).toBe(text('whole/model/kernel.arrow'));
  });

  it('--kernel auto keeps the dense form at this size and says why; a bad rank is a usage error', () => {
    const c = run('complete', '--input', 'train.csv', '--output', 'auto', '--seed', '2', '--max-sweeps', '3', '--quiet');
    expect(c.status, c.stderr).toBe(0);
    const report = JSON.parse(text('auto/report.json'));
    expect(report.kernel.form).toBe('dense');
    expect(report.kernel.why).toMatch(/dense kernel is cheaper/);
    const bad = run('complete', '--input', 'train.csv', '--output', 'bad', '--kernel-rank', '0');
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/kernel-rank/);
  });

  it('--spill always loads through the work directory and runs the low-rank form spilled: the in-memory predictions to 1e-6', () => {
    const c = run('complete', ...common, '--output', 'spilled', '--spill', 'always', '--spill-chunk', '3000', '--workers', '2');
    expect(c.status, c.stderr).toBe(0);
    const report = JSON.parse(text('spilled/report.json'));
    expect(report.kernel.form).toBe('low-rank');
    expect(report.memory.spilledChunks).toBeGreaterThanOrEqual(3);
    const a = readCsv(join(dir, 'low', 'predictions.csv'));
    const b = readCsv(join(dir, 'spilled', 'predictions.csv'));
    expect(b.length).toBe(a.length);
    let num = 0;
    let den = 0;
    for (const [e, row] of a.entries()) {
      expect(b[e]!.slice(0, 2)).toEqual(row.slice(0, 2));
      num = Math.max(num, Math.abs(Number(b[e]![2]) - Number(row[2])));
      den = Math.max(den, Math.abs(Number(row[2])));
    }
    expect(num / den).toBeLessThan(1e-6);
  });
});
