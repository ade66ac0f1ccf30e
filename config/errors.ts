// The one place user-facing errors are made: stable codes for scripts to match, sysexits(3) exit codes for shells.

/**
 * Exit codes follow sysexits(3) so a calling shell script can tell "fix your command line" from
 * "fix your data" from "the disk failed" without parsing messages.
 */
export const exitCodes = {
  E_USAGE: 64, // EX_USAGE
  E_BAD_DATA: 65, // EX_DATAERR
  E_MISSING_INPUT: 66, // EX_NOINPUT
  E_UNAVAILABLE: 69, // EX_UNAVAILABLE: the cluster's Redis unreachable (after a bounded wait)
  E_IO: 74, // EX_IOERR
  E_LOCKED: 75, // EX_TEMPFAIL: another job holds the output folder; try again later
  E_PROTOCOL: 76, // EX_PROTOCOL: the cluster's tasks failed (a worker of another version or format, results refused past the retries)
  E_NOPERM: 77, // EX_NOPERM: the cluster's Redis refused the credentials
  E_CONFIG: 78, // EX_CONFIG
  // not in sysexits(3): the numbers failed (a non-finite value in the run or in an output), never a success
  E_NUMERIC: 79,
  // stopped by a signal after writing a checkpoint: the shell's 128 + signal number
  E_SIGINT: 130,
  E_SIGTERM: 143,
} as const;

export type ErrorCode = keyof typeof exitCodes;

/** Exit code for anything that is not a LinRfmError: a bug, so EX_SOFTWARE. */
export const EXIT_INTERNAL = 70;

export class LinRfmError extends Error {
  override readonly name = 'LinRfmError';
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    // One line per error keeps CLI output greppable and log lines intact.
    super(oneLine(message), options);
    this.code = code;
    this.exitCode = exitCodes[code];
  }
}

/** The process exit code for any thrown value. */
export function exitCodeOf(err: unknown): number {
  return err instanceof LinRfmError ? err.exitCode : EXIT_INTERNAL;
}

/**
 * Renders user data for a message: quoted so leading/trailing spaces and empty strings are visible,
 * escaped so it cannot break the one-line rule, and truncated so a 10 MB field cannot flood a terminal.
 */
export function quote(value: unknown, max = 80): string {
  if (typeof value === 'string') {
    const shown = value.length > max ? `${value.slice(0, max)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value == null) {
    return String(value);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined; // cyclic or otherwise unserialisable: fall back to String()
  }
  const text = json ?? String(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function oneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\\n');
}

export const Errors = {
  Usage(why: string): LinRfmError {
    return new LinRfmError('E_USAGE', why);
  },

  /** `where` locates the problem inside the file, e.g. `line 17, column "value"`; '' for the whole file. */
  BadData(file: string, where: string, why: string): LinRfmError {
    return new LinRfmError('E_BAD_DATA', where ? `${file}: ${where}: ${why}` : `${file}: ${why}`);
  },

  MissingInput(file: string, why = 'no such file', options?: ErrorOptions): LinRfmError {
    return new LinRfmError('E_MISSING_INPUT', `${file}: ${why}`, options);
  },

  Io(file: string, why: string, options?: ErrorOptions): LinRfmError {
    return new LinRfmError('E_IO', `${file}: ${why}`, options);
  },

  /** Another job holds `dir` (its output folder). */
  Locked(dir: string, why: string): LinRfmError {
    return new LinRfmError('E_LOCKED', `${dir}: ${why}`);
  },

  Interrupted(signal: 'SIGINT' | 'SIGTERM', why: string): LinRfmError {
    return new LinRfmError(signal === 'SIGINT' ? 'E_SIGINT' : 'E_SIGTERM', `${signal}: ${why}`);
  },

  /** The numbers of a run went non-finite; `file` is the input (or output) concerned. */
  Numeric(file: string, why: string): LinRfmError {
    return new LinRfmError('E_NUMERIC', `${file}: numeric failure: ${why}`);
  },

  /** The cluster's Redis (shown without its password) refused the credentials. */
  ClusterAuth(where: string, why: string): LinRfmError {
    return new LinRfmError('E_NOPERM', `cluster ${where}: authentication failed: ${why}; check the user and password (LINRFM_CLUSTER_PASSWORD, or the URL)`);
  },

  /** The cluster's Redis (rediss://) showed a certificate this process does not trust, or spoke no TLS. */
  ClusterTls(where: string, why: string): LinRfmError {
    return new LinRfmError('E_NOPERM', `cluster ${where}: TLS failed: ${why}; trust the server's certificate authority with NODE_EXTRA_CA_CERTS=FILE (PEM), and use rediss:// only for a TLS port`);
  },

  /** The cluster's Redis could not be reached within the wait. */
  ClusterDown(where: string, why: string): LinRfmError {
    return new LinRfmError('E_UNAVAILABLE', `cluster ${where}: Redis unreachable: ${why}`);
  },

  /** The cluster's tasks failed for good (refused by the workers, or their results refused here). */
  ClusterTask(where: string, why: string): LinRfmError {
    return new LinRfmError('E_PROTOCOL', `cluster ${where}: ${why}`);
  },

  Config(key: string, value: unknown, why: string): LinRfmError {
    return new LinRfmError('E_CONFIG', `config ${key} = ${quote(value)}: ${why}`);
  },
} as const;
