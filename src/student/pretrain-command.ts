/** `nerd pretrain`: masked-LM pretraining of a student on unlabelled text (pretrain.ts). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { numberFlag } from '../flags.js';
import { withTrainingBatchOptions } from './batch-options.js';
import { pretrain } from './pretrain.js';
import { readTextFile, TEXT_FORMATS, type TextFormat } from './pretrain-data.js';
import { splitWords } from './predict.js';
import { DEFAULT_VOCAB } from './train.js';

const num = numberFlag;

interface PretrainFlags {
  text: string[];
  format: string;
  dev?: string;
  holdout?: number;
  out: string;
  model: string;
  vocab?: string;
  lowercase?: boolean;
  epochs: number;
  maxTime?: number;
  lr?: number;
  warmup: number;
  batch: number;
  maxTokens?: number;
  maxSeq: number;
  maskProb: number;
  seed: number;
  threads?: number;
  dropout?: number;
  resume?: boolean;
  saveEvery: number;
  logEvery: number;
  json?: boolean;
}

export function registerPretrain(program: Command): void {
  withTrainingBatchOptions(
    program
      .command('pretrain')
      .description(
        'masked-LM pretraining of a student on unlabelled text (a preset from scratch, or a checkpoint continued)',
      )
      .requiredOption(
        '--text <files...>',
        'text: corpus files (CoNLL, JSONL, token JSONL; labels ignored) or plain text, one sentence per line',
      )
      .option('--format <format>', `text format: ${TEXT_FORMATS.join(', ')}`, 'auto')
      .option('--dev <file>', 'held-out text: its masked-LM loss is reported after each epoch (first 2,000 sentences)')
      .option(
        '--holdout <n>',
        'hold out the last n sentences of --text as the held-out text (instead of --dev)',
        num('--holdout', { int: true, min: 1 }),
      )
      .requiredOption(
        '--out <dir>',
        'output folder: model/ (BertForMaskedLM checkpoint for nerd train --model), last/ (resume state)',
      )
      .option(
        '--model <preset|dir|ORG/NAME>',
        'tiny, mini, small, base, a checkpoint folder, or a hub name ORG/NAME[@REVISION] to continue pretraining',
        'mini',
      )
      .option('--vocab <file>', `vocab.txt for a preset (default ${path.relative(process.cwd(), DEFAULT_VOCAB)})`)
      .option('--lowercase', 'lower-case input (uncased vocabularies; presets only)')
      .option(
        '--epochs <n>',
        'passes over the text (masks drawn afresh each epoch)',
        num('--epochs', { int: true, min: 1 }),
        3,
      )
      .option(
        '--max-time <minutes>',
        'time budget: stop after this much wall time with the weights reached',
        num('--max-time', { min: 0 }),
      )
      .option(
        '--lr <x>',
        'peak learning rate (default 5e-4 for a preset, 1e-4 for a checkpoint)',
        num('--lr', { min: 0 }),
      )
      .option(
        '--warmup <x>',
        'linear warm-up: fraction of all steps if < 1, else steps',
        num('--warmup', { min: 0 }),
        0.06,
      ),
  )
    .option(
      '--mask-prob <x>',
      'share of sub-words masked (whole words, 80% [MASK] / 10% random / 10% kept)',
      num('--mask-prob', { min: 0.01, max: 0.9 }),
      0.15,
    )
    .option('--seed <n>', 'seed of initial weights, batch order, masks and dropout', num('--seed', { int: true }), 42)
    .option('--threads <n>', 'onnxruntime threads (default 2)', num('--threads', { int: true, min: 1 }))
    .option(
      '--dropout <x>',
      'dropout probability (default: the model config, 0.1)',
      num('--dropout', { min: 0, max: 0.9 }),
    )
    .option('--resume', 'continue from OUT/last after an interruption')
    .option('--save-every <n>', 'write OUT/last every n steps', num('--save-every', { int: true, min: 1 }), 200)
    .option(
      '--log-every <n>',
      'a loss-curve point (mean loss, wall and CPU time) every n steps, in the log and OUT/curve.json; 0: none',
      num('--log-every', { int: true, min: 0 }),
      100,
    )
    .option('--json', 'print the result as JSON on standard output')
    .action(async (flags: PretrainFlags) => {
      if (!TEXT_FORMATS.includes(flags.format as TextFormat))
        throw new InputError(`--format: unknown format "${flags.format}" (${TEXT_FORMATS.join(', ')})`);
      if (flags.vocab && !existsSync(flags.vocab)) throw new InputError('vocabulary file not found', flags.vocab);
      const split = (t: string) => splitWords(t);
      let text = flags.text.flatMap((f) => readTextFile(f, flags.format as TextFormat, split));
      let dev = flags.dev ? readTextFile(flags.dev, flags.format as TextFormat, split) : undefined;
      if (flags.holdout !== undefined) {
        if (dev) throw new InputError('--holdout and --dev: give one of them');
        if (flags.holdout >= text.length)
          throw new InputError(`--holdout ${flags.holdout}: the text has only ${text.length} sentences`);
        dev = text.slice(text.length - flags.holdout);
        text = text.slice(0, text.length - flags.holdout);
      }
      if (text.length === 0) throw new InputError(`no sentences in ${flags.text.join(', ')}`);
      const abort = new AbortController();
      let interrupts = 0;
      const onSigint = (): void => {
        if (++interrupts > 1) process.exit(130);
        process.stderr.write('\nnerd: stopping after this step and saving OUT/last (Ctrl-C again to quit now)\n');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      let result: Awaited<ReturnType<typeof pretrain>>;
      try {
        result = await pretrain({
          out: flags.out,
          text,
          dev,
          model: flags.model,
          vocab: flags.vocab,
          lowercase: flags.lowercase,
          epochs: flags.epochs,
          maxTimeS: flags.maxTime !== undefined ? flags.maxTime * 60 : undefined,
          lr: flags.lr,
          warmup: flags.warmup,
          batchSize: flags.batch,
          maxTokens: flags.maxTokens,
          maxSeq: flags.maxSeq,
          maskProb: flags.maskProb,
          seed: flags.seed,
          threads: flags.threads,
          dropout: flags.dropout,
          resume: flags.resume,
          saveEvery: flags.saveEvery,
          logEvery: flags.logEvery,
          signal: abort.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      const last = result.history[result.history.length - 1];
      process.stderr.write(
        `nerd: ${result.interrupted ? 'stopped' : result.timeUp ? 'time budget reached' : 'finished'} after ${result.steps}/${result.totalSteps} steps in ${(result.wallS / 60).toFixed(1)} min` +
          (last
            ? `; masked-LM loss ${last.trainLoss.toFixed(3)}${last.devLoss !== undefined ? `, held-out ${last.devLoss.toFixed(3)}` : ''}`
            : '') +
          '\n' +
          (result.interrupted
            ? `nerd: resume with: nerd pretrain ... --out ${flags.out} --resume\n`
            : `nerd: checkpoint: ${result.modelDir} (fine-tune with nerd train --model ${result.modelDir})\n`),
      );
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
