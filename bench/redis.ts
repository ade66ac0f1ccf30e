// A Redis server of one's own, for the tests and the cluster bench: redis-server on a free loopback
// port with a temporary directory, no persistence, optionally a password; stop() kills it and
// removes the directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * `tls`: the server's certificate and key files (PEM); it then listens for TLS only, without
 * asking clients for certificates, and its URL is rediss://.
 */
export async function startRedis(o: { password?: string; port?: number; tls?: { cert: string; key: string } } = {}): Promise<TestRedis> {
  const port = o.port ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'linrfm-redis-'));
  const listen = o.tls === undefined
    ? ['--port', String(port)]
    : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key, '--tls-auth-clients', 'no'];
  const args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (o.password !== undefined) args.push('--requirepass', o.password);
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${out.slice(-500)}`)), 10_000);
    const check = (): void => {
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(check, 20);
    };
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
    });
    check();
  });
  child.removeAllListeners('exit');
  return {
    port,
    url: `${o.tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
