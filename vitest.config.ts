import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit`, the fast in-process tests (`npm run test:unit`, about a minute), and `slow`, the ones
 * that spawn the CLI, train or run models, start servers or drive a browser. `npm test` runs both.
 * A new test file is `unit` unless its name matches SLOW.
 */
const SLOW = [
  'test/**/*cli*.test.ts',
  'test/student/{train,train-resume,engine,engine-transformersjs,parity,checkpoint-pipeline,quantize-int8}.test.ts',
  'test/serve/{api,review-page,review-page-stale,review-concurrency}.test.ts',
  'test/teacher/{llamacpp,conll-dev}.test.ts',
  'test/distill/experiment.test.ts',
];

const shared = {
  testTimeout: 120_000,
  hookTimeout: 120_000,
  // onnxruntime and llama.cpp use native threads: run test files in forked processes.
  pool: 'forks' as const,
  poolOptions: { forks: { maxForks: 2, minForks: 1 } },
};

export default defineConfig({
  test: {
    ...shared,
    // the default reporter, then one line when the browser tests were skipped (see the file)
    reporters: ['default', './test/helpers/skipped-note.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
