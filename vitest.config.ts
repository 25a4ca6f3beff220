import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit`, the fast in-process tests (`npm run test:unit`), and `slow`, the ones that spawn
 * the CLI, train, pre-train or run models, start servers under load, drive a browser or sweep whole corpora.
 * `npm test` runs both. A new test file is `unit` unless its name matches SLOW.
 */
const SLOW = [
  'test/*/**/*cli*.test.ts',
  'test/**/*{parity,load,concurrency,resume,pretrain}*.test.ts',
  'test/student/{train,engine,engine-transformersjs,checkpoint-pipeline,tokenizer,tokenizers-train,quantize-int8}.test.ts',
  'test/serve/{api,review-page,review-page-stale}.test.ts',
  'test/teacher/{llamacpp,conll-dev,sim,spans-sim}.test.ts',
  'test/corpus/roundtrip.test.ts',
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
