/**
 * `nerd serve` (the model behind an HTTP API) and `nerd review` (a page to review the teacher's labels).
 * Both run until SIGINT/SIGTERM, then close cleanly (in-flight requests finish, the store is closed).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { numberFlag } from '../flags.js';
import { Progress } from '../progress.js';
import { checkExposure } from './http.js';
import { tuneServe } from './calibrate.js';
import { loadPredictor, loadPredictorPool, QUANTIZED_FILE } from './model.js';
import { resolveModelDir } from '../student/model-folder.js';
import { DEFAULT_BATCHING, DEFAULT_LIMITS, startServeServer } from './server.js';
import { buildReviewApp } from './review/app.js';
import { readReviewData } from './review/data.js';
import { exportToFile, type ExportFormat } from './review/export.js';
import type { StudentEntity } from './review/model.js';
import { ReviewStore } from './review/store.js';
import { orderWithModel, SELECT_STRATEGIES, type SelectStrategy } from '../teacher/select.js';

function int(name: string, min: number, max?: number) {
  return numberFlag(name, { int: true, min, max });
}

/** resolves when SIGINT or SIGTERM arrives */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

interface ServeFlags {
  model: string;
  port: number;
  host: string;
  token?: string;
  maxBatch: number;
  maxWaitMs: number;
  bodyLimit: number;
  maxItems: number;
  threads?: number;
  workers?: number;
  batchSize?: number;
  quantized?: boolean;
  recalibrate?: boolean;
  maxBatchTokens: number;
  maxQueueTokens: number;
  requestTimeout: number;
  drainTimeout: number;
}

interface ReviewFlags {
  data?: string;
  model?: string;
  store?: string;
  port: number;
  host: string;
  token?: string;
  export?: string;
  format?: ExportFormat;
  types?: string;
  order: string;
  seed: number;
}

/** the store beside the data file unless --store says otherwise: data.jsonl → data.review.sqlite */
export function defaultStorePath(data: string): string {
  return data.replace(/(\.jsonl|\.json)?$/i, '.review.sqlite');
}

/** fills in student predictions for every sentence (skipped when the same model file already did) */
async function predictForReview(store: ReviewStore, modelDir: string): Promise<void> {
  const onnx = path.join(modelDir, 'onnx', 'model.onnx');
  const stamp = existsSync(onnx) ? `${path.resolve(modelDir)}@${statSync(onnx).mtimeMs}` : path.resolve(modelDir);
  const sentences = store.allSentences();
  if (store.getMeta('student_stamp') === stamp && sentences.every((s) => s.student)) return;
  const predictor = await loadPredictor(modelDir);
  const progress = new Progress(sentences.length, { label: 'student predictions', unit: 'sentences' });
  const out = new Map<string, StudentEntity[]>();
  try {
    for (let i = 0; i < sentences.length; i += 256) {
      const chunk = sentences.slice(i, i + 256);
      const preds = await predictor.predictSentences(chunk.map((s) => s.tokens));
      preds.forEach((p, k) =>
        out.set(
          chunk[k]!.id,
          p.entities.map((e) => ({
            start: e.start,
            end: e.end,
            label: e.label,
            score: Math.round(e.score * 1e4) / 1e4,
          })),
        ),
      );
      progress.tick(chunk.length);
    }
  } finally {
    progress.stop();
    await predictor.close?.();
  }
  store.addTypes(predictor.types);
  store.setStudent(out, path.resolve(modelDir));
  store.setMeta('student_stamp', stamp);
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a trained model over HTTP: POST /predict {"texts": [...]} or {"sentences": [[...]]}, GET /health',
    )
    .requiredOption('--model <dir>', 'checkpoint folder (config.json, vocab.txt or tokenizer.json, onnx/model.onnx)')
    .option('--port <n>', 'port (0 = any free port)', int('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on; anything but loopback requires --token', '127.0.0.1')
    .option(
      '--token <t>',
      'bearer token required on every request: 16+ printable characters, spaces and non-ASCII allowed (better: set NERD_TOKEN, since command lines are visible to other users)',
    )
    .option(
      '--max-batch <n>',
      'most sentences per model call when micro-batching',
      int('--max-batch', 1, 4096),
      DEFAULT_BATCHING.maxBatch,
    )
    .option(
      '--max-batch-tokens <n>',
      'most (estimated) sub-word tokens per model call: bounds how long a small request waits behind a big one',
      int('--max-batch-tokens', 64),
      DEFAULT_BATCHING.maxBatchTokens,
    )
    .option(
      '--max-wait-ms <n>',
      'longest a request waits for others to share its model call',
      int('--max-wait-ms', 0, 1000),
      DEFAULT_BATCHING.maxWaitMs,
    )
    .option(
      '--max-queue-tokens <n>',
      'most (estimated) tokens of work waiting; beyond it requests get 503 with Retry-After',
      int('--max-queue-tokens', 1000),
      DEFAULT_BATCHING.maxQueueTokens,
    )
    .option(
      '--request-timeout <s>',
      'seconds a request may wait for its answer; then 503 and its queued work is dropped',
      int('--request-timeout', 1, 3600),
      DEFAULT_LIMITS.requestTimeoutMs / 1000,
    )
    .option(
      '--drain-timeout <s>',
      'on SIGTERM/SIGINT: seconds to finish queued work before answering the rest 503 and exiting',
      int('--drain-timeout', 0, 3600),
      10,
    )
    .option('--body-limit <bytes>', 'largest request body', int('--body-limit', 1024), DEFAULT_LIMITS.bodyLimit)
    .option('--max-items <n>', 'most texts or sentences per request', int('--max-items', 1), DEFAULT_LIMITS.maxItems)
    .option(
      '--workers <n>',
      'model worker threads (default: calibrated for this machine and model at first start)',
      int('--workers', 1, 64),
    )
    .option(
      '--threads <n>',
      'ONNX Runtime threads per worker (default: calibrated; with --workers alone, cores ÷ workers)',
      int('--threads', 1, 256),
    )
    .option(
      '--batch-size <n>',
      'sentences per forward pass inside a model call (default: calibrated)',
      int('--batch-size', 1, 1024),
    )
    .option(
      '--quantized',
      `run ${QUANTIZED_FILE} (int8, from \`nerd export --quantize int8\`) instead of onnx/model.onnx`,
    )
    .option('--recalibrate', 'measure the worker layout again instead of using the cached calibration')
    .action(async (flags: ServeFlags) => {
      const token = checkExposure(flags.host, flags.token, 'nerd serve');
      const cores = os.availableParallelism();
      const dir = await resolveModelDir(flags.model);
      const onnx = path.join(dir, flags.quantized ? QUANTIZED_FILE : path.join('onnx', 'model.onnx'));
      if (flags.quantized && !existsSync(onnx)) {
        throw new InputError(
          'no int8 model here: run `nerd export --quantize int8` on this folder first, or drop --quantized',
          onnx,
        );
      }
      let layout: { workers: number; threads: number; batchSize: number };
      if (flags.workers !== undefined || flags.threads !== undefined || !existsSync(onnx)) {
        // set by hand (or a folder without an exported graph): no calibration
        const workers =
          flags.workers ??
          (flags.threads !== undefined ? Math.max(1, Math.floor(cores / flags.threads)) : Math.min(2, cores));
        const threads = flags.threads ?? Math.max(1, Math.floor(cores / workers));
        layout = { workers, threads, batchSize: flags.batchSize ?? (threads === 1 ? 8 : 32) };
      } else {
        const t = await tuneServe(dir, onnx, {
          cores,
          quantized: flags.quantized,
          recalibrate: flags.recalibrate,
          log: (line) => process.stderr.write(`nerd serve: ${line}\n`),
        });
        layout = { workers: t.workers, threads: t.threads, batchSize: flags.batchSize ?? t.batchSize };
        process.stderr.write(
          `nerd serve: layout ${t.workers} workers × ${t.threads} threads, ${layout.batchSize} sentences per pass ` +
            `(${t.cached ? 'calibrated earlier on this machine' : 'just calibrated'}: ${t.sentencesPerSecond} sentences/s on the sample)\n`,
        );
      }
      const predictor = await loadPredictorPool(dir, layout.workers, {
        threads: layout.threads,
        batchSize: layout.batchSize,
        quantized: flags.quantized,
      });
      const server = await startServeServer({
        predictor,
        host: flags.host,
        port: flags.port,
        token,
        limits: { bodyLimit: flags.bodyLimit, maxItems: flags.maxItems, requestTimeoutMs: flags.requestTimeout * 1000 },
        batching: {
          maxBatch: flags.maxBatch,
          maxBatchTokens: flags.maxBatchTokens,
          maxWaitMs: flags.maxWaitMs,
          maxQueueTokens: flags.maxQueueTokens,
          concurrency: layout.workers,
        },
        workers: () => ({ ...layout, restarts: predictor.restarts(), restarting: predictor.restarting() }),
      });
      process.stdout.write(
        `nerd serve: listening on ${server.url} (model ${flags.model}${flags.quantized ? ' int8' : ''}; types ${predictor.types.join(', ')}` +
          `${token ? '; bearer token required' : ''})\n`,
      );
      const sig = await untilSignal();
      const ms = flags.drainTimeout * 1000;
      process.stderr.write(`nerd serve: ${sig}, finishing queued requests (up to ${flags.drainTimeout} s)\n`);
      // whatever happens while closing, the process is gone shortly after the drain deadline
      setTimeout(() => {
        process.stderr.write('nerd serve: could not close in time, exiting\n');
        process.exit(1);
      }, ms + 5000).unref();
      const drained = await server.close(ms);
      if (!drained) process.stderr.write(`nerd serve: drain deadline reached; the requests left were answered 503\n`);
    });

  program
    .command('review')
    .description(
      "review the teacher's labels in the browser, most doubtful sentences first; or export the reviewed ones",
    )
    .option('--data <file>', "the teacher's output JSONL (`nerd annotate`), or any corpus file (CoNLL, JSONL)")
    .option(
      '--model <dir>',
      'a student checkpoint: its predictions are shown and teacher/student disagreement raises doubt',
    )
    .option('--store <file>', 'SQLite review store (default: beside --data, DATA.review.sqlite)')
    .option('--port <n>', 'port (0 = any free port)', int('--port', 0, 65535), 8081)
    .option('--host <addr>', 'address to listen on; anything but loopback requires --token', '127.0.0.1')
    .option('--token <t>', 'bearer token (open the page as http://HOST:PORT/#token=T)')
    .option('--types <list>', 'entity types offered besides those in the data, comma-separated (e.g. PER,ORG,LOC,MISC)')
    .option(
      '--export <file>',
      'write the reviewed sentences as human-labelled data and exit (.conll/.txt → CoNLL, else JSONL)',
    )
    .option('--format <fmt>', 'export format: jsonl or conll (default: from the file name)')
    .option(
      '--order <strategy>',
      "queue order: doubt, or a selection strategy: first, random, diversity (vocabulary coverage), uncertainty (the --model student's doubt)",
      'doubt',
    )
    .option(
      '--seed <n>',
      'with --order: the seed of its random choices and tie-breaks',
      int('--seed', 0, 2 ** 31 - 1),
      1,
    )
    .action(async (flags: ReviewFlags) => {
      if (flags.order !== 'doubt' && !(SELECT_STRATEGIES as readonly string[]).includes(flags.order))
        throw new InputError(`--order: unknown order "${flags.order}" (doubt, ${SELECT_STRATEGIES.join(', ')})`);
      if (flags.order === 'uncertainty' && !flags.model)
        throw new InputError('--order uncertainty needs --model (a student checkpoint to score the sentences with)');
      if (flags.format && flags.format !== 'jsonl' && flags.format !== 'conll') {
        throw new InputError(`--format must be jsonl or conll, got ${JSON.stringify(flags.format)}`);
      }
      const storeFile = flags.store ?? (flags.data ? defaultStorePath(flags.data) : undefined);
      if (!storeFile) throw new InputError('nerd review: give --data FILE.jsonl (and/or --store FILE.sqlite)');
      if (flags.export) {
        if (!existsSync(storeFile)) throw new InputError('no review store here yet: review something first', storeFile);
        const store = new ReviewStore(storeFile);
        try {
          const { count, format } = exportToFile(store, flags.export, flags.format);
          process.stdout.write(`nerd review: wrote ${count} reviewed sentences to ${flags.export} (${format})\n`);
        } finally {
          store.close();
        }
        return;
      }
      const token = checkExposure(flags.host, flags.token, 'nerd review');
      const store = new ReviewStore(storeFile);
      try {
        if (flags.data) {
          const input = readReviewData(flags.data);
          const { added, updated } = store.loadSentences(input, flags.data);
          process.stderr.write(
            `nerd review: ${input.length} sentences from ${flags.data} (${added} new, ${updated} already in ${storeFile})\n`,
          );
        } else if (store.counts().total === 0) {
          throw new InputError('the review store holds no sentences: give --data FILE.jsonl', storeFile);
        }
        if (flags.types)
          store.addTypes(
            flags.types
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          );
        if (flags.model) await predictForReview(store, flags.model);
        if (flags.order !== 'doubt') {
          const all = store.allSentences();
          const ranked = await orderWithModel(
            all.map((s) => s.tokens),
            {
              strategy: flags.order as SelectStrategy,
              seed: flags.seed,
              ...(flags.model ? { model: flags.model } : {}),
            },
          );
          store.order = new Map(ranked.map((i, rank) => [all[i]!.id, rank]));
          process.stderr.write(`nerd review: queue ordered by '${flags.order}' (seed ${flags.seed})\n`);
        }
        const app = await buildReviewApp({
          store,
          host: flags.host,
          token,
          title: flags.data ? path.basename(flags.data) : undefined,
        });
        await app.listen({ host: flags.host, port: flags.port });
        const addr = app.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : flags.port;
        const counts = store.counts();
        process.stdout.write(
          `nerd review: open http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}/${token ? '#token=<your token>' : ''} ` +
            `(${counts.done} of ${counts.total} reviewed; saving to ${storeFile}; press ? on the page for keys)\n`,
        );
        const sig = await untilSignal();
        process.stderr.write(`nerd review: ${sig}, closing\n`);
        await app.close();
      } finally {
        store.close();
      }
    });
}
