import { defineConfig } from 'vitest/config';

// Two projects: unit tests (no root needed) and privileged tests (*.priv.test.ts: real tools on
// the real kernel; under CI=true they fail rather than skip when BPF is unavailable).
export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          // some unit tests run a build step or a shell (codegen's tsc, completion's bash): seconds on a
          // busy machine, so 30 s, not vitest's 5; a test that hangs still fails
          testTimeout: 30000,
          include: ['libs/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
          exclude: ['**/*.priv.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'privileged',
          include: ['libs/*/test/**/*.priv.test.ts', 'tools/*/test/**/*.priv.test.ts', 'scripts/test/**/*.priv.test.ts'],
          testTimeout: 60000,
          hookTimeout: 60000,
          // tools share one kernel: keep files from crowding the 2 CPUs too much
          maxWorkers: 2,
          minWorkers: 1,
        },
      },
    ],
  },
});
