// Progress for long runs: a live status line on a terminal; otherwise structured JSON log lines on
// stderr (pino), one per event, with an `event` field naming it.

import { pino, type Logger } from 'pino';

export interface Progress {
  /** A structured event: a JSON log line when not on a terminal. */
  event(name: string, fields: Record<string, unknown>): void;
  /** A human status line: redrawn in place on a terminal, silent otherwise. */
  status(text: string): void;
  /** A human line kept on screen (terminal) or an info event (otherwise). */
  info(text: string): void;
  /** Something the run changed or ignored: shown even with --quiet (a warn log line when not on a terminal). */
  warn(text: string): void;
  done(): void;
}

/** JSON lines on file descriptor `fd`, written synchronously so they interleave correctly with exit messages. */
export function jsonLogger(fd = 2): Logger {
  return pino(
    { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ fd, sync: true }),
  );
}

export function createProgress(opts: { quiet?: boolean; stream?: NodeJS.WriteStream; forceJson?: boolean } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = !opts.forceJson && stream.isTTY === true;
  if (!tty) {
    const log = jsonLogger((stream as { fd?: number }).fd ?? 2);
    const warn = (text: string): void => log.warn({ event: 'warning' }, text);
    if (opts.quiet) return { event: () => {}, status: () => {}, info: () => {}, warn, done: () => {} };
    return {
      event: (name, fields) => log.info({ event: name, ...fields }),
      status: () => {},
      info: (text) => log.info({ event: 'info' }, text),
      warn,
      done: () => {},
    };
  }
  if (opts.quiet) return { event: () => {}, status: () => {}, info: () => {}, warn: (text) => void stream.write(`lin-rfm: warning: ${text}\n`), done: () => {} };
  let live = false;
  const clear = (): void => {
    if (live) {
      stream.write('\r\x1b[2K');
      live = false;
    }
  };
  return {
    event: () => {},
    status(text) {
      clear();
      stream.write(text.slice(0, Math.max(20, (stream.columns ?? 100) - 1)));
      live = true;
    },
    info(text) {
      clear();
      stream.write(text + '\n');
    },
    warn(text) {
      clear();
      stream.write(`lin-rfm: warning: ${text}\n`);
    },
    done() {
      clear();
    },
  };
}
