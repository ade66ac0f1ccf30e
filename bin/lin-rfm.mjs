#!/usr/bin/env node
// Executable shim: runs the compiled command line (dist/, built by `npm run build`, which `npm ci` runs).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('lin-rfm: the compiled program is missing (dist/); run `npm run build` (npm ci does it)\n');
  process.exit(70);
}
process.exitCode = await main(process.argv);
