// Resumable grids: each finished cell of an experiment's grid (one unit of work, giving one or more
// records) is appended to OUTDIR/NAME.cells.jsonl as it finishes. A run with `resume` takes the
// cells found there instead of running them again, and `slice` runs only the cells whose numbers
// (in the grid's order) it holds: a grid of many hours runs in parts, each part's cells merged
// into the one file, and the tables and figures are drawn from every finished cell.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export interface CellOptions {
  /** Take the finished cells of the file instead of running them again. */
  resume: boolean;
  /** Run only cells first..last (numbered from 0 in the grid's order); the others are taken from the file or left out. */
  slice?: readonly [number, number] | undefined;
}

/** What a run did with the grid's cells. */
export interface CellCounts {
  /** Cells the grid has (known once the run has gone through it). */
  total: number;
  ran: number;
  resumed: number;
  /** Outside the slice and not in the file: not in this run's tables. */
  skipped: number;
}

/** A cells file that belongs to another grid (or is not one), found by a run with `resume`. */
export class CellsMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CellsMismatch';
  }
}

/** The identity of a grid: cells of another grid (other sizes, seeds, caps) are never mixed in. */
export function gridId(grid: unknown): string {
  return createHash('sha256').update(JSON.stringify(grid)).digest('hex').slice(0, 16);
}

// JSON has no NaN or infinities; records carry them (an error that went non-finite)
const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };
const encode = (_: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const decode = (_: string, v: unknown): unknown => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v);

export class CellStore<R> {
  readonly counts: CellCounts = { total: 0, ran: 0, resumed: 0, skipped: 0 };
  /** null: kept in memory only (a run called from code, without a cells file). */
  readonly #path: string | null;
  readonly #done: Map<string, R[]>;
  readonly #slice: readonly [number, number] | undefined;
  /** The keys this run has been through: a key twice is two cells taken for one. */
  readonly #seen = new Set<string>();

  private constructor(path: string | null, done: Map<string, R[]>, slice: readonly [number, number] | undefined) {
    this.#path = path;
    this.#done = done;
    this.#slice = slice;
  }

  /** A store that writes no file: every cell runs (a grid run from code, the tests). */
  static memory<R>(): CellStore<R> {
    return new CellStore<R>(null, new Map(), undefined);
  }

  /**
   * Opens the cells file of a grid. Without `resume` it starts empty; with it, a file of another
   * grid is an error, and a last line cut short (a run killed while writing) is dropped.
   */
  static open<R>(path: string, experiment: string, grid: string, o: CellOptions): CellStore<R> {
    const head = JSON.stringify({ experiment, grid });
    const done = new Map<string, R[]>();
    if (o.resume && existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n');
      if (lines[0] !== head) {
        throw new CellsMismatch(`${path}: the cells of another grid (${lines[0]!.slice(0, 120)}; this run: ${head}); run without --resume to start it afresh`);
      }
      const body = lines.slice(1).filter((l) => l !== '');
      body.forEach((line, q) => {
        let cell: { key: string; records: R[] };
        try {
          cell = JSON.parse(line, decode) as { key: string; records: R[] };
        } catch (err) {
          if (q === body.length - 1) return;
          throw new CellsMismatch(`${path}: line ${q + 2} is not a cell: ${(err as Error).message}`);
        }
        done.set(cell.key, cell.records);
      });
      // rewritten without a cut-short last line, so that the next cell starts a line of its own
      writeFileSync(path, [head, ...[...done].map(([key, records]) => JSON.stringify({ key, records }, encode))].join('\n') + '\n');
    } else {
      writeFileSync(path, head + '\n');
    }
    return new CellStore<R>(path, done, o.slice);
  }

  /**
   * The records of the grid's next cell, named `key` (unique in the grid): from the file when it
   * is there, else computed and appended (in the slice), else none.
   */
  async cell(key: string, compute: () => Promise<R[]> | R[]): Promise<{ records: R[]; resumed: boolean }> {
    if (this.#seen.has(key)) throw new RangeError(`cell ${JSON.stringify(key)} twice in one grid: its cells need distinct keys`);
    this.#seen.add(key);
    const index = this.counts.total++;
    const known = this.#done.get(key);
    if (known !== undefined) {
      this.counts.resumed++;
      return { records: known, resumed: true };
    }
    const s = this.#slice;
    if (s !== undefined && (index < s[0] || index > s[1])) {
      this.counts.skipped++;
      return { records: [], resumed: false };
    }
    const records = await compute();
    if (this.#path !== null) appendFileSync(this.#path, JSON.stringify({ key, records }, encode) + '\n');
    this.#done.set(key, records);
    this.counts.ran++;
    return { records, resumed: false };
  }
}
