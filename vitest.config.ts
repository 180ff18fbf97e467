import { defineConfig } from 'vitest/config';

// Test files run one at a time: the end-to-end suites start real sshd fleets and worker pools,
// and a 2-core machine gives honest results only when they do not fight each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
