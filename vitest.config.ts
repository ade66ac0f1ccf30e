import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two test files at once, on any core count: many files spend their time waiting on child
    // processes (the CLI, workers, Redis), so a second file fills the gaps. On this 2-core machine
    // the default (cores - 1 = 1 file at a time) took 6.7 minutes, two at once 4.1.
    maxWorkers: 2,
  },
});
