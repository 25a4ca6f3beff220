/**
 * `nerd train`, `nerd predict`, `nerd forward`, `nerd export`: thin wrappers around train.ts, predict.ts,
 * predict-stream.ts and export.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { readCorpus, parseFormat, parseScheme, type Sentence } from '../corpus/index.js';
import { InputError } from '../errors.js';
import { numberFlag } from '../flags.js';
import { withTrainingBatchOptions } from './batch-options.js';
import { Progress } from '../progress.js';
import { registerExport } from './export.js';
import { OnnxLogits } from './onnx-logits.js';
import { Predictor } from './predict.js';
import { DEFAULT_VOCAB, train } from './train.js';
import { evaluate } from './train-eval.js';
import type { TrainOptions } from './train-types.js';
import { registerPretrain } from './pretrain-command.js';
import { registerTokenizer } from './tokenizer-command.js';
import type { Batch } from './types.js';

const num = numberFlag;

function readSentences(file: string, what: string): Sentence[] {
  const r = readCorpus(file);
  if (r.repairs.length) {
    process.stderr.write(
      `nerd: ${file}: repaired ${r.repairs.length} tag problem(s), e.g. ${r.repairs[0]!.line}: ${r.repairs[0]!.message}\n`,
    );
  }
  if (r.corpus.sentences.length === 0) throw new InputError(`the ${what} corpus has no sentences`, file);
  return r.corpus.sentences;
}

interface TrainFlags {
  train: string;
  dev?: string;
  test?: string;
  out: string;
  model: string;
  vocab?: string;
  lowercase?: boolean;
  epochs: number;
  lr?: number;
  warmup: number;
  batch: number;
  maxTokens?: number;
  maxSeq: number;
  seed: number;
  patience: number;
  threads?: number;
  dropout?: number;
  entityWeight?: number;
  priorBias: boolean;
  resume?: boolean;
  saveEvery: number;
  maxTime?: number;
  json?: boolean;
}

interface PredictFlags {
  model: string;
  input: string;
  out: string;
  format?: string;
  scheme?: string;
  threads?: number;
  batch: number;
  maxSeq?: number;
  entities?: boolean;
  quantized?: boolean;
  chunk: number;
}

export function register(program: Command): void {
  registerExport(program);
  registerPretrain(program);
  registerTokenizer(program);
  withTrainingBatchOptions(
    program
      .command('train')
      .description('train a BERT token classifier (fresh weights from a preset, or a checkpoint folder) on a corpus')
      .requiredOption('--train <file>', 'training corpus (CoNLL, JSONL or token JSONL)')
      .option('--dev <file>', 'development corpus: scored after each epoch; the best dev F1 is kept in OUT/best')
      .option('--test <file>', 'test corpus: the final OUT/best is scored on it')
      .requiredOption('--out <dir>', 'output folder: best/ (checkpoint to ship), last/ (resume state), history.json')
      .option(
        '--model <preset|dir|ORG/NAME>',
        'tiny, mini, small, base, a checkpoint folder, or a hub name ORG/NAME[@REVISION] (e.g. google-bert/bert-base-cased)',
        'mini',
      )
      .option('--vocab <file>', `vocab.txt for a preset (default ${path.relative(process.cwd(), DEFAULT_VOCAB)})`)
      .option('--lowercase', 'lower-case input (uncased vocabularies; presets only)')
      .option('--epochs <n>', 'passes over the training data', num('--epochs', { int: true, min: 1 }), 3)
      .option(
        '--lr <x>',
        'peak learning rate (default 5e-4 for a preset or a nerd pretrain checkpoint, 5e-5 for other checkpoints)',
        num('--lr', { min: 0 }),
      )
      .option(
        '--warmup <x>',
        'linear warm-up: fraction of all steps if < 1, else steps',
        num('--warmup', { min: 0 }),
        0.1,
      ),
  )
    .option('--seed <n>', 'seed of initial weights, batch order and dropout', num('--seed', { int: true }), 42)
    .option(
      '--patience <n>',
      'stop after n evaluations without a better dev F1 (0 = never)',
      num('--patience', { int: true, min: 0 }),
      0,
    )
    .option('--threads <n>', 'onnxruntime threads (default 2)', num('--threads', { int: true, min: 1 }))
    .option(
      '--dropout <x>',
      'dropout probability (default: the model config, 0.1)',
      num('--dropout', { min: 0, max: 0.9 }),
    )
    .option(
      '--entity-weight <x>',
      'loss weight of entity sub-words relative to O (rare entities: e.g. 3)',
      num('--entity-weight', { min: 0 }),
    )
    .option(
      '--no-prior-bias',
      "start a fresh classifier's bias at zero, not at the log prior of the training labels (the default)",
    )
    .option('--resume', 'continue from OUT/last after an interruption')
    .option('--save-every <n>', 'write OUT/last every n steps', num('--save-every', { int: true, min: 1 }), 200)
    .option(
      '--max-time <minutes>',
      'stop (resumably) after this much wall time, scoring the weights reached',
      num('--max-time', { min: 0 }),
    )
    .option('--json', 'print the result as JSON on standard output')
    .action(async (flags: TrainFlags) => {
      const trainSents = readSentences(flags.train, 'training');
      const dev = flags.dev ? readSentences(flags.dev, 'dev') : undefined;
      const test = flags.test ? readSentences(flags.test, 'test') : undefined;
      if (flags.vocab && !existsSync(flags.vocab)) throw new InputError('vocabulary file not found', flags.vocab);
      const abort = new AbortController();
      let interrupts = 0;
      const onSigint = (): void => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\nnerd: stopping after this step and saving OUT/last (Ctrl-C again to quit now)\n');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      const opts: TrainOptions = {
        out: flags.out,
        train: trainSents,
        dev,
        model: flags.model,
        vocab: flags.vocab,
        lowercase: flags.lowercase,
        epochs: flags.epochs,
        lr: flags.lr,
        warmup: flags.warmup,
        batchSize: flags.batch,
        maxTokens: flags.maxTokens,
        maxSeq: flags.maxSeq,
        seed: flags.seed,
        patience: flags.patience,
        threads: flags.threads,
        dropout: flags.dropout,
        entityWeight: flags.entityWeight,
        priorBias: flags.priorBias,
        resume: flags.resume,
        saveEvery: flags.saveEvery,
        maxTimeS: flags.maxTime !== undefined ? flags.maxTime * 60 : undefined,
        signal: abort.signal,
      };
      let result;
      try {
        result = await train(opts);
      } finally {
        process.off('SIGINT', onSigint);
      }
      let testScore;
      if (test && existsSync(path.join(result.bestDir, 'config.json'))) {
        const predictor = await Predictor.load(result.bestDir, { threads: flags.threads, maxSeq: flags.maxSeq });
        try {
          testScore = await evaluate(predictor, test);
        } finally {
          await predictor.close();
        }
      }
      const pct = (x: number | undefined) => (x === undefined ? '-' : (100 * x).toFixed(2));
      const lines = [
        `${result.interrupted ? 'stopped' : 'finished'} after ${result.steps}/${result.totalSteps} steps in ${(result.wallS / 60).toFixed(1)} min` +
          (result.resumedAt !== undefined ? ` (resumed at step ${result.resumedAt})` : '') +
          (result.stoppedEarly ? ' (early stop)' : ''),
        result.bestF1 !== undefined
          ? `best dev F1 ${pct(result.bestF1)} at step ${result.bestStep}; checkpoint: ${result.bestDir}`
          : `no dev set: the final weights are the checkpoint: ${result.bestDir}`,
      ];
      if (testScore)
        lines.push(`test P ${pct(testScore.precision)} R ${pct(testScore.recall)} F1 ${pct(testScore.f1)}`);
      if (result.interrupted) lines.push(`resume with: nerd train ... --out ${flags.out} --resume`);
      process.stderr.write(lines.map((l) => `nerd: ${l}\n`).join(''));
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, test: testScore }, null, 2)}\n`);
    });

  program
    .command('predict')
    .description('label a corpus with a trained model; writes the same format (and tag scheme) it reads')
    .requiredOption(
      '--model <dir|ORG/NAME>',
      'checkpoint folder (e.g. OUT/best of nerd train) or hub name ORG/NAME[@REVISION]',
    )
    .requiredOption('--input <file>', 'corpus to label (CoNLL, JSONL or token JSONL; existing labels are replaced)')
    .requiredOption('--out <file>', 'output corpus file ("-" for standard output)')
    .option('--format <format>', 'input format: conll, jsonl or tokens-jsonl (default: detected)')
    .option('--scheme <scheme>', "tag scheme to write: iob1, iob2 or bioes (default: the input's)")
    .option('--entities', 'tokens-jsonl output: token-offset "entities" with confidence instead of "tags"')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', num('--threads', { int: true, min: 1 }))
    .option('--batch <n>', 'sentences per forward pass', num('--batch', { int: true, min: 1 }), 64)
    .option(
      '--max-seq <n>',
      'sub-words per window (default: the model maximum)',
      num('--max-seq', { int: true, min: 8 }),
    )
    .option('--quantized', 'run onnx/model_quantized.onnx (int8; make it with nerd export --quantize int8)')
    .option(
      '--chunk <n>',
      'sentences read, predicted and written at a time (memory is bounded by it)',
      num('--chunk', { int: true, min: 1 }),
      1024,
    )
    .action(async (flags: PredictFlags) => {
      const format = flags.format === undefined ? undefined : parseFormat(flags.format);
      if (flags.format !== undefined && !format)
        throw new InputError(`--format: unknown format "${flags.format}" (conll, jsonl, tokens-jsonl)`);
      const scheme = flags.scheme === undefined ? undefined : parseScheme(flags.scheme);
      if (flags.scheme !== undefined && !scheme)
        throw new InputError(`--scheme: unknown scheme "${flags.scheme}" (iob1, iob2, bioes)`);
      const { predictFile, detectFileFormat } = await import('./predict-stream.js');
      const inputFormat = format ?? detectFileFormat(flags.input); // a bad input fails before the model loads
      const predictor = await Predictor.load(flags.model, {
        threads: flags.threads,
        batchSize: flags.batch,
        maxSeq: flags.maxSeq,
        quantized: flags.quantized,
      });
      const bar = new Progress(0, { label: 'predict', unit: 'sentences' });
      let result;
      try {
        result = await predictFile(predictor, flags.input, flags.out, {
          format: inputFormat,
          scheme,
          entities: flags.entities,
          chunkSentences: flags.chunk,
          collectEachChunk: true,
          onProgress: (done) => bar.update(done),
          onRepairs: (n, r) =>
            process.stderr.write(`nerd: ${flags.input}: repaired ${n} tag problem(s), e.g. ${r.line}: ${r.message}\n`),
        });
      } finally {
        bar.stop();
        await predictor.close();
      }
      process.stderr.write(
        `nerd: wrote ${flags.out === '-' ? 'standard output' : flags.out}: ${result.sentences} sentences, ${result.entities} entities (${result.format})\n`,
      );
    });

  program
    .command('forward')
    .description('print the logits of sub-word id sequences as JSON [batch][position][label] (a debugging aid)')
    .requiredOption('--model <dir|ORG/NAME>', 'checkpoint folder or hub name ORG/NAME[@REVISION]')
    .requiredOption('--ids <json>', "sub-word ids, e.g. '[[101, 1109, 102]]' (rows of different length are padded)")
    .option('--threads <n>', 'onnxruntime threads', num('--threads', { int: true, min: 1 }))
    .option('--quantized', 'run onnx/model_quantized.onnx (int8) instead of onnx/model.onnx')
    .action(async (flags: { model: string; ids: string; threads?: number; quantized?: boolean }) => {
      let rows: unknown;
      try {
        rows = JSON.parse(flags.ids);
      } catch (err) {
        throw new InputError(`--ids: not JSON: ${(err as Error).message}`);
      }
      if (
        !Array.isArray(rows) ||
        rows.length === 0 ||
        !rows.every((r) => Array.isArray(r) && r.length > 0 && r.every((x) => Number.isInteger(x) && x >= 0))
      ) {
        throw new InputError('--ids: expected a non-empty array of non-empty arrays of non-negative integers');
      }
      const ids = rows as number[][];
      const { openModelFolder } = await import('./model-folder.js');
      const opened = await openModelFolder(flags.model, { threads: flags.threads, quantized: flags.quantized });
      const { config, labels } = opened;
      for (const r of ids) {
        for (const x of r) {
          if (config.vocab_size !== undefined && x >= config.vocab_size) {
            throw new InputError(`--ids: id ${x} is outside the vocabulary (size ${config.vocab_size})`);
          }
        }
      }
      const B = ids.length;
      const T = Math.max(...ids.map((r) => r.length));
      const batch: Batch = {
        batchSize: B,
        seqLen: T,
        inputIds: new Int32Array(B * T),
        attentionMask: new Int32Array(B * T),
      };
      ids.forEach((r, b) => {
        batch.inputIds.set(r, b * T);
        batch.attentionMask.fill(1, b * T, b * T + r.length);
      });
      const runner = await OnnxLogits.create(opened.onnx, labels.length, flags.threads);
      let logits: Float32Array;
      try {
        logits = await runner.run(batch);
      } finally {
        await runner.close();
      }
      const L = logits.length / (B * T);
      const out = ids.map((r, b) => r.map((_, t) => Array.from(logits.subarray((b * T + t) * L, (b * T + t + 1) * L))));
      process.stdout.write(`${JSON.stringify(out)}\n`);
    });
}
