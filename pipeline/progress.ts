// Progress for long runs: a live line on a terminal, JSON log lines on stderr otherwise.

export interface Progress {
  /** A structured event: JSON line when not on a terminal. */
  event(name: string, fields: Record<string, unknown>): void;
  /** A human status line: redrawn in place on a terminal, silent otherwise. */
  status(text: string): void;
  /** A human line kept on screen (terminal) or an info event (otherwise). */
  info(text: string): void;
  done(): void;
}

export function createProgress(opts: { quiet?: boolean; stream?: NodeJS.WriteStream; forceJson?: boolean } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = !opts.forceJson && stream.isTTY === true;
  let live = false;
  const clear = (): void => {
    if (live) {
      stream.write('\r\x1b[2K');
      live = false;
    }
  };
  if (opts.quiet) {
    return { event: () => {}, status: () => {}, info: () => {}, done: () => {} };
  }
  return {
    event(name, fields) {
      if (tty) return;
      stream.write(JSON.stringify({ time: new Date().toISOString(), event: name, ...fields }) + '\n');
    },
    status(text) {
      if (!tty) return;
      clear();
      stream.write(text.slice(0, Math.max(20, (stream.columns ?? 100) - 1)));
      live = true;
    },
    info(text) {
      if (tty) {
        clear();
        stream.write(text + '\n');
      } else {
        stream.write(JSON.stringify({ time: new Date().toISOString(), event: 'info', message: text }) + '\n');
      }
    },
    done() {
      clear();
    },
  };
}
