// Benchmark dispatcher: `npm run bench -- NAME [flags]`.

const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  paper: () => import('./paper.ts'),
  compare: () => import('./compare.ts'),
  gemm: () => import('./gemm.ts'),
  load: () => import('./parquet-load.ts'),
  scale: () => import('./scale.ts'),
  rowsolve: () => import('./rowsolve.ts'),
  e2e: () => import('./e2e.ts'),
  'compare-kernels': () => import('./compare-kernels.ts'),
  cluster: () => import('./cluster.ts'),
  netflix: () => import('./netflix.ts'),
};

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !(name in benches)) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [flags]\n`);
  process.exit(64);
}
const mod = await benches[name]!();
await mod.run(args);
