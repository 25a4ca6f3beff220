/**
 * Loads a checkpoint folder (config.json with id2label, vocab.txt or tokenizer.json, onnx/model.onnx) into
 * the server's `Predictor`: the student's word-level predictor (`Predictor.load`: windows, stitching, span
 * decoding over an onnxruntime-node session running the exported graph, input_ids, attention_mask,
 * token_type_ids as int64 → logits) with the answers reshaped for the API. A Hugging Face folder without
 * onnx/model.onnx is exported on the fly by the student's loader.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readJsonFile } from '../files.js';
import { resolveModelDir } from '../student/model-folder.js';
import { Predictor as WordPredictor } from '../student/predict.js';
import type { Predictor, SentencePrediction } from './predictor.js';

export interface LoadOptions {
  /** ONNX Runtime intra-op threads (default: all cores) */
  threads?: number;
  /** most sentences per forward pass inside one micro-batch (default 64) */
  batchSize?: number;
  /** run onnx/model_quantized.onnx (int8 weights, `nerd export --quantize int8`) instead of onnx/model.onnx */
  quantized?: boolean;
}

export const QUANTIZED_FILE = path.join('onnx', 'model_quantized.onnx');

export async function loadPredictor(spec: string, opts: LoadOptions = {}): Promise<Predictor> {
  // a folder or a hub name ORG/NAME[@REVISION] (the student's resolver: hub cache, HF_HUB_OFFLINE, ...)
  const dir = await resolveModelDir(spec);
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError('not a model folder: config.json is missing', dir);
  const config = (await readJsonFile(configFile, 'config.json')) as {
    hidden_size?: number;
    num_hidden_layers?: number;
    max_position_embeddings?: number;
  };
  if (opts.quantized && !existsSync(path.join(dir, QUANTIZED_FILE))) {
    throw new InputError(
      'no int8 model here: run `nerd export --quantize int8` on this folder first, or drop --quantized',
      path.join(dir, QUANTIZED_FILE),
    );
  }
  const word = await WordPredictor.load(dir, {
    threads: opts.threads,
    batchSize: opts.batchSize,
    quantized: opts.quantized,
  });
  const onnxFile = path.join(dir, opts.quantized ? QUANTIZED_FILE : path.join('onnx', 'model.onnx'));
  const info = {
    dir: path.resolve(dir),
    labels: word.id2label,
    hiddenSize: config.hidden_size,
    layers: config.num_hidden_layers,
    maxPositions: config.max_position_embeddings,
    onnx: opts.quantized ? QUANTIZED_FILE : path.join('onnx', 'model.onnx'),
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

// the worker threads live in pool.ts; re-exported here for callers that load models from one place
export { loadPredictorInWorker, loadPredictorPool, type PoolPredictor } from './pool.js';
