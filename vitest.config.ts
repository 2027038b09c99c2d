import { defineConfig } from 'vitest/config';

// Integration tests share one Redis and one FerretDB started by test/global-setup.ts;
// each file isolates itself with its own queue prefix and database name.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
