// The worker count a job runs with: the setting, at most the machine's cores. The results are the
// same bits for any count, but threads beyond the cores only wait for each other (measured: up to
// 25 times slower a sweep).

import { availableParallelism } from 'node:os';

export function workerCount(asked: number, warn: (message: string) => void): number {
  const cores = availableParallelism();
  if (asked <= cores) return asked;
  warn(`--workers ${asked} is more than the ${cores} cores here: using ${cores} (the results are the same for any count)`);
  return cores;
}
