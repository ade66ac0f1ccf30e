// `lin-rfm cluster status`: what a Redis holds for lin-rfm under a prefix: the workers connected
// (BullMQ's client list), the tasks by state, and the jobs running (their heartbeat keys: one job,
// its latest sweep, its tasks waiting and in hand).

import { Queue } from 'bullmq';
import { bullConnection, connect, scanKeys, type ClusterTarget } from './connection.ts';
import { QUEUE, taskSchema } from './protocol.ts';

export interface ClusterStatus {
  cluster: string;
  prefix: string;
  workers: Array<{ name: string; addr: string; age: number; idle: number }>;
  tasks: Record<string, number>;
  jobs: Array<{ job: string; sweep: number; waiting: number; active: number }>;
}

export async function clusterStatus(target: ClusterTarget, prefix: string, waitMs: number): Promise<ClusterStatus> {
  const redis = await connect(target, waitMs);
  const queue = new Queue(QUEUE, { connection: bullConnection(target), prefix });
  queue.on('error', () => undefined);
  try {
    const clients = await queue.getWorkers();
    const workers = clients.map((c) => ({
      name: (c['rawname'] ?? '').replace(/^.*:w:/, ''),
      addr: c['addr'] ?? '',
      age: Number(c['age'] ?? 0),
      idle: Number(c['idle'] ?? 0),
    }));
    const tasks = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    const jobs = new Map<string, { job: string; sweep: number; waiting: number; active: number }>();
    const scan = (pattern: string, each: (key: string) => void): Promise<void> => scanKeys(redis, pattern, (keys) => keys.forEach(each));
    // a job runs while its heartbeat is there; its latest sweep is that of its latest operand
    await scan(`${prefix}:job:*:alive`, (k) => {
      const m = /:job:([0-9a-f]{16}):alive$/.exec(k);
      if (m !== null) jobs.set(m[1]!, { job: m[1]!, sweep: 0, waiting: 0, active: 0 });
    });
    await scan(`${prefix}:job:*:operand:*`, (k) => {
      const m = /:job:([0-9a-f]{16}):operand:(\d+):/.exec(k);
      const j = m === null ? undefined : jobs.get(m[1]!);
      if (j !== undefined) j.sweep = Math.max(j.sweep, Number(m![2]));
    });
    for (const [state, list] of [['waiting', await queue.getWaiting(0, 9999)], ['active', await queue.getActive(0, 9999)]] as const) {
      for (const t of list) {
        const parsed = taskSchema.safeParse(t.data);
        if (!parsed.success) continue;
        const j = jobs.get(parsed.data.job) ?? { job: parsed.data.job, sweep: parsed.data.sweep, waiting: 0, active: 0 };
        j[state]++;
        jobs.set(parsed.data.job, j);
      }
    }
    return { cluster: target.shown, prefix, workers, tasks, jobs: [...jobs.values()] };
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}
