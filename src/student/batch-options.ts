/**
 * The batch-shape flags of the commands that train a student (`nerd train`, `nerd pretrain`): one wording,
 * one set of bounds and defaults, so the two commands cannot drift apart.
 */
import type { Command } from 'commander';
import { numberFlag } from '../flags.js';

export function withTrainingBatchOptions(command: Command): Command {
  return command
    .option('--batch <n>', 'sentences per batch', numberFlag('--batch', { int: true, min: 1 }), 32)
    .option('--max-tokens <n>', 'most padded sub-words per batch', numberFlag('--max-tokens', { int: true, min: 1 }))
    .option(
      '--max-seq <n>',
      'sub-words per window; longer sentences are split into windows',
      numberFlag('--max-seq', { int: true, min: 8 }),
      128,
    );
}
