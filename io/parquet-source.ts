// Decodes Parquet row groups with parquet-wasm on a worker thread and hands back Arrow IPC bytes.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { FooterPatch } from './parquet-footer.ts';

/**
 * Why a worker: parquet-wasm 0.8's async reader (ParquetFile over a Blob, the only way to read a
 * file a row group at a time) traps with `RuntimeError: unreachable` on corrupt page data, and the
 * trap is thrown from a queued microtask: it cannot be caught, the read's promise never settles,
 * and the process dies of an uncaught exception. In a worker the trap only kills the worker, which
 * the main thread sees as an 'error' event and turns into a one-line data error. The worker also
 * decodes the next row group while the main thread maps the keys of this one.
 *
 * The worker is plain CommonJS given as a string (eval), so it runs the same under tsx, vitest and
 * plain node without a TypeScript loader in the worker.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openAsBlob } = require('node:fs');
const pw = require(workerData.lib);
let file = null;
let queue = Promise.resolve();
parentPort.on('message', (msg) => { queue = queue.then(() => handle(msg)); });
function message(err) { return err instanceof Error ? err.message : String(err); }
async function handle(msg) {
  try {
    if (msg.type === 'open') {
      if (file !== null) { file.free(); file = null; }
      let blob = await openAsBlob(msg.path);
      // The file with its footer swapped for one without page-index references (see parquet-footer.ts).
      if (msg.patch) blob = new Blob([blob.slice(0, msg.patch.keep), msg.patch.footer]);
      file = await pw.ParquetFile.fromFile(blob);
      const meta = file.metadata();
      const rowGroups = [];
      for (let g = 0, n = meta.numRowGroups(); g < n; g++) {
        const group = meta.rowGroup(g);
        rowGroups.push(group.numRows());
        group.free();
      }
      meta.free();
      const schema = file.schema().intoIPCStream();
      parentPort.postMessage({ type: 'opened', id: msg.id, rowGroups, schema }, [schema.buffer]);
    } else if (msg.type === 'read') {
      const table = await file.read({ rowGroups: [msg.rowGroup], columns: msg.columns, batchSize: msg.batchSize });
      const ipc = table.intoIPCStream();
      parentPort.postMessage({ type: 'rows', id: msg.id, ipc }, [ipc.buffer]);
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: message(err) });
  }
}
parentPort.postMessage({ type: 'ready', id: 0 });
`;

/** Main -> worker. */
type Request =
  | { type: 'open'; id: number; path: string; patch: FooterPatch | null }
  | { type: 'read'; id: number; rowGroup: number; columns: string[]; batchSize: number };

/** Worker -> main. */
type Reply =
  | { type: 'ready'; id: 0 }
  | { type: 'opened'; id: number; rowGroups: number[]; schema: Uint8Array }
  | { type: 'rows'; id: number; ipc: Uint8Array }
  | { type: 'error'; id: number; message: string };

export interface OpenedFile {
  /** Rows in each row group, in file order. */
  rowGroups: number[];
  /** An Arrow IPC stream holding the file's schema and no rows. */
  schema: Uint8Array;
}

/** parquet-wasm refused the file or a row group; `message` is its reason. */
export class ParquetDecodeError extends Error {
  override readonly name = 'ParquetDecodeError';
}

/** Rows per Arrow batch: bounds one batch's IPC buffer while keeping per-batch overhead negligible. */
const BATCH_ROWS = 1 << 16;

let libPath: string | undefined;

/**
 * One worker, one file open at a time. Requests run in order in the worker; the caller may have
 * several outstanding (that is the read-ahead). Always close() it, also on error.
 */
export class ParquetRowGroupSource {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Set once the worker has died; every later request fails with it. */
  private dead: Error | null = null;
  private readonly ready: Promise<void>;

  constructor() {
    libPath ??= createRequire(import.meta.url).resolve('parquet-wasm');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { lib: libPath } });
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve: () => resolve(), reject }));
    // Marked handled here: a worker that dies before the first request must not raise an unhandled rejection.
    this.ready.catch(() => undefined);
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.type === 'error') waiter.reject(new ParquetDecodeError(reply.message));
      else waiter.resolve(reply);
    });
    this.worker.on('error', (err) => this.fail(new ParquetDecodeError(`the decoder crashed (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`)));
    this.worker.on('exit', (code) => this.fail(new ParquetDecodeError(`the decoder exited (code ${code})`)));
  }

  /**
   * Opens `path` (closing the previous file), read with `patch`'s footer in place of its own if
   * given, and returns its row-group sizes and Arrow schema.
   */
  async open(path: string, patch: FooterPatch | null = null): Promise<OpenedFile> {
    const reply = await this.request({ type: 'open', id: 0, path, patch });
    if (reply.type !== 'opened') throw new ParquetDecodeError(`unexpected reply ${reply.type}`);
    return { rowGroups: reply.rowGroups, schema: reply.schema };
  }

  /** The named columns of one row group of the open file, as an Arrow IPC stream. */
  async read(rowGroup: number, columns: string[]): Promise<Uint8Array> {
    const reply = await this.request({ type: 'read', id: 0, rowGroup, columns, batchSize: BATCH_ROWS });
    if (reply.type !== 'rows') throw new ParquetDecodeError(`unexpected reply ${reply.type}`);
    return reply.ipc;
  }

  async close(): Promise<void> {
    this.dead ??= new ParquetDecodeError('the decoder was closed');
    await this.worker.terminate();
  }

  private async request(req: Request): Promise<Reply> {
    await this.ready;
    if (this.dead !== null) throw this.dead;
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.dead);
    this.pending.clear();
  }
}
