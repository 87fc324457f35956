// `npm run test:browser` (after `npm run build:web`): the playground built into dist/web, served on
// 127.0.0.1 and driven in headless Chromium, against the same training run in Node.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    // One page, one browser, long steps on a CPU adapter: no parallel files, generous timeouts.
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
