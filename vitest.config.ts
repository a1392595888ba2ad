import { defineConfig } from 'vitest/config';

// SILT_TEST_REPORT_DIR (set by .ci/run) adds a JSON report for the summary line.
const reportDir = process.env.SILT_TEST_REPORT_DIR;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: reportDir ? ['default', ['json', { outputFile: `${reportDir}/vitest.json` }]] : ['default'],
  },
});
