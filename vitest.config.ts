import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores on the CI machines; real-component tests (later issues) start processes.
    pool: 'forks',
    testTimeout: 30_000,
    // Hooks stop clusters and collectors and remove build trees: on a busy 2-core machine that
    // can take longer than vitest's default 10 s, which fails the run for no fault of the code.
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
