/**
 * Loads a checkpoint folder (config.json with id2label, vocab.txt or tokenizer.json, onnx/model.onnx) into
 * the server's `Predictor`: the student's word-level predictor (`Predictor.load`: windows, stitching, span
 * decoding over an onnxruntime-node session running the exported graph, input_ids, attention_mask,
 * token_type_ids as int64 → logits) with the answers reshaped for the API. A Hugging Face folder without
 * onnx/model.onnx is exported on the fly by the student's loader.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { resolveModelDir } from '../student/model-folder.js';
import { Predictor as WordPredictor } from '../student/predict.js';
import type { Predictor, SentencePrediction } from './predictor.js';

export interface LoadOptions {
  /** ONNX Runtime intra-op threads (default: all cores) */
  threads?: number;
  /** most sentences per forward pass inside one micro-batch (default 64) */
  batchSize?: number;
}

export async function loadPredictor(spec: string, opts: LoadOptions = {}): Promise<Predictor> {
  // a folder or a hub name ORG/NAME[@REVISION] (the student's resolver: hub cache, HF_HUB_OFFLINE, ...)
  const dir = await resolveModelDir(spec);
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError('not a model folder: config.json is missing', dir);
  let config: { hidden_size?: number; num_hidden_layers?: number; max_position_embeddings?: number };
  try {
    config = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (err) {
    throw new InputError(`config.json is not valid JSON: ${(err as Error).message}`, configFile);
  }
  const word = await WordPredictor.load(dir, { threads: opts.threads, batchSize: opts.batchSize });
  const onnxFile = path.join(dir, 'onnx', 'model.onnx');
  const info = {
    dir: path.resolve(dir),
    labels: word.id2label,
    hiddenSize: config.hidden_size,
    layers: config.num_hidden_layers,
    maxPositions: config.max_position_embeddings,
    onnxBytes: existsSync(onnxFile) ? statSync(onnxFile).size : null,
  };
  return {
    types: word.types,
    info,
    async predictSentences(sentences: string[][]): Promise<SentencePrediction[]> {
      const preds = await word.predictSentences(sentences);
      return preds.map((p) => ({
        tokens: p.tokens,
        entities: p.spans.map((s) => ({
          start: s.start,
          end: s.end,
          label: s.label,
          score: s.confidence ?? 0,
          text: p.tokens.slice(s.start, s.end).join(' '),
        })),
      }));
    },
    async predictTexts(texts: string[]): Promise<SentencePrediction[]> {
      const preds = await word.predictTexts(texts);
      return preds.map((p) => ({
        tokens: p.tokens,
        tokenOffsets: p.tokenOffsets,
        entities: p.spans.map((s) => ({
          start: s.start,
          end: s.end,
          label: s.label,
          score: s.confidence ?? 0,
          charStart: s.charStart,
          charEnd: s.charEnd,
          text: p.text.slice(s.charStart ?? 0, s.charEnd ?? 0),
        })),
      }));
    },
    async close() {
      await word.close();
    },
  };
}

/**
 * The same predictor running in a worker thread (see worker.ts): the calling thread stays free while the
 * model computes. Requests are answered in order; a worker that dies fails its pending calls loudly.
 */
export async function loadPredictorInWorker(spec: string, opts: LoadOptions = {}): Promise<Predictor> {
  const dir = await resolveModelDir(spec);
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const file = path.join(path.dirname(here), `worker${ext}`);
  const workerData = { dir, options: opts };
  let worker: Worker;
  if (ext === '.ts') {
    // running from TypeScript sources (tsx, vitest): register tsx's loader in the worker, then load it
    const tsxApi = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
    const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
    worker = new Worker(boot, { eval: true, workerData });
  } else {
    worker = new Worker(file, { workerData });
  }
  const pending = new Map<number, { resolve: (v: SentencePrediction[]) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | undefined;
  const ready = new Promise<{ types: string[]; info: Record<string, unknown> }>((resolve, reject) => {
    worker.on('message', (msg: any) => {
      if (msg.type === 'ready') resolve({ types: msg.types, info: msg.info });
      else if (msg.type === 'fatal') {
        reject(msg.input ? new InputError(msg.message, msg.input.file, msg.input.line, msg.input.column) : new Error(msg.message));
      } else {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.type === 'result') p.resolve(msg.out as SentencePrediction[]);
        else p.reject(new Error(msg.message));
      }
    });
    const fail = (err: Error) => {
      dead = err;
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`model worker exited (code ${code})`)));
  });
  let meta: { types: string[]; info: Record<string, unknown> };
  try {
    meta = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const call = (kind: 'texts' | 'sentences', items: unknown[]): Promise<SentencePrediction[]> => {
    if (dead) return Promise.reject(dead);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, kind, items });
    });
  };
  return {
    types: meta.types,
    info: { ...meta.info, thread: 'worker' },
    predictSentences: (sentences) => call('sentences', sentences),
    predictTexts: (texts) => call('texts', texts),
    failure: () => dead?.message,
    async close() {
      if (!dead) worker.postMessage({ id: 0, kind: 'close', items: [] });
      const exited = new Promise((r) => worker.once('exit', r));
      const timeout = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/**
 * Several model workers behind one Predictor: each call goes to the worker with the fewest calls in
 * flight. Small BERTs use cores better as N single-threaded sessions working on different micro-batches
 * than as one session splitting each small matrix product across threads.
 */
export async function loadPredictorPool(spec: string, workers: number, opts: LoadOptions = {}): Promise<Predictor> {
  // resolved (downloaded) once, before the workers start
  const dir = await resolveModelDir(spec);
  if (workers <= 1) return loadPredictorInWorker(dir, opts);
  const pool = await Promise.all(Array.from({ length: workers }, () => loadPredictorInWorker(dir, opts)));
  const busy = pool.map(() => 0);
  const pick = async <T>(f: (p: Predictor) => Promise<T>): Promise<T> => {
    let k = 0;
    for (let i = 1; i < pool.length; i++) if (busy[i]! < busy[k]!) k = i;
    busy[k]!++;
    try {
      return await f(pool[k]!);
    } finally {
      busy[k]!--;
    }
  };
  return {
    types: pool[0]!.types,
    info: { ...pool[0]!.info, workers, threadsPerWorker: opts.threads ?? 'all cores' },
    predictSentences: (s) => pick((p) => p.predictSentences(s)),
    predictTexts: (t) => pick((p) => p.predictTexts(t)),
    failure: () => pool.map((p) => p.failure?.()).find((f) => f !== undefined),
    async close() {
      await Promise.all(pool.map((p) => p.close?.()));
    },
  };
}
