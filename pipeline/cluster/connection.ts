// The Redis connection of a scale-out run: the URL (redis:// or rediss:// for TLS), the credentials
// (from the URL, or the environment or config file, never logged), a first contact that tells a
// wrong password from an unreachable server, and the options BullMQ's own connections take.

import { isIP } from 'node:net';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { Errors } from '../../config/errors.ts';
import { redactUrl } from '../../config/table.ts';

export interface ClusterTarget {
  /** The URL with any password removed: what logs and reports show. */
  shown: string;
  options: RedisOptions;
}

export interface Credentials {
  user?: string | undefined;
  password?: string | undefined;
}

/**
 * Parses `redis://[user[:password]@]host[:port][/db]` (rediss:// for TLS). A password in the URL
 * wins over `cred` (the environment's or config file's).
 */
export function clusterTarget(url: string, cred: Credentials = {}): ClusterTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw Errors.Usage(`--cluster ${JSON.stringify(redactUrl(url))}: not a URL (redis://HOST:PORT or rediss://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw Errors.Usage(`--cluster: ${u.protocol} is not redis: or rediss:`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw Errors.Usage(`--cluster: database ${JSON.stringify(dbText)} is not a number`);
  const user = u.username !== '' ? decodeURIComponent(u.username) : cred.user;
  const password = u.password !== '' ? decodeURIComponent(u.password) : cred.password;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const options: RedisOptions = {
    host, port, db,
    ...(user !== undefined && user !== '' ? { username: user } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
    // TLS checks the certificate against the host (an IP address goes by its IP SAN; SNI takes names only)
    ...(u.protocol === 'rediss:' ? { tls: isIP(host) === 0 ? { servername: host } : {} } : {}),
    // BullMQ's blocking connections need this; our own commands are bounded by the caller
    maxRetriesPerRequest: null,
    lazyConnect: true,
  };
  return { shown: `${u.protocol}//${user !== undefined && user !== '' ? `${user}@` : ''}${u.host}${db === 0 ? '' : `/${db}`}`, options };
}

/**
 * Connects, retrying an unreachable server for up to `waitMs`, and proves the credentials with a
 * PING. A wrong password or user, or a TLS certificate not trusted, is a distinct error (exit 77),
 * found at once; an unreachable server another (69).
 */
export async function connect(t: ClusterTarget, waitMs: number, onWait?: (why: string) => void): Promise<Redis> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const r = new Redis({ ...t.options, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: Math.max(1000, Math.min(10_000, waitMs)) });
    // the server's answer (a refused password) comes as an event; the failed command only says the connection closed
    let event: string | null = null;
    r.on('error', (err: Error) => {
      event = err.message;
    });
    try {
      // a server that accepts and never answers (a stopped process, a dead proxy) must not hang this
      await within(Math.max(1000, waitMs - (Date.now() - started)), () => r.connect().then(() => r.ping()));
      return r;
    } catch (err) {
      r.disconnect();
      const why = event ?? (err instanceof Error ? err.message : String(err));
      if (/WRONGPASS|NOAUTH|NOPERM|invalid username-password|AUTH/i.test(why)) {
        throw Errors.ClusterAuth(t.shown, why);
      }
      if (t.options.tls !== undefined && /certificate|self[- ]signed|unable to verify|wrong version number|SSL|TLS/i.test(why)) {
        throw Errors.ClusterTls(t.shown, why);
      }
      const left = waitMs - (Date.now() - started);
      if (left <= 0) throw Errors.ClusterDown(t.shown, `${why} (waited ${Math.round((Date.now() - started) / 1000)} s)`);
      onWait?.(`Redis at ${t.shown} unreachable (${why}); retrying for ${Math.ceil(left / 1000)} s more`);
      await new Promise((res) => setTimeout(res, Math.min(left, 500 * 2 ** Math.min(attempt, 4))));
    }
  }
}

/** The options BullMQ's connections (queue, worker, events) are made with. */
export function bullConnection(t: ClusterTarget): ConnectionOptions {
  const { host, port, db, username, password, tls } = t.options;
  return { host, port, db, username, password, tls, maxRetriesPerRequest: null } as ConnectionOptions;
}

/** f(), or a rejection saying `why` once ms have passed. */
export function within<T>(ms: number, f: () => Promise<T>, why = `no answer in ${Math.round(ms / 1000)} s`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms);
  });
  return Promise.race([f(), late]).finally(() => clearTimeout(timer));
}

/** Calls `each` with every key matching `pattern` (SCAN, a thousand at a time: never KEYS). */
export async function scanKeys(redis: Redis, pattern: string, each: (keys: string[]) => Promise<unknown> | void): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await each(keys);
    cursor = next;
  } while (cursor !== '0');
}
