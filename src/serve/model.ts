/**
 * Loads a checkpoint folder (config.json with id2label, vocab.txt or tokenizer.json, onnx/model.onnx) into
 * the server's `Predictor`: the student's word-level predictor (windows, stitching, span decoding) over an
 * onnxruntime-node session that runs the exported inference graph
 * (input_ids, attention_mask[, token_type_ids] as int64 → logits [batch, seq, labels]).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.js';
import { Predictor as WordPredictor, labelsFromConfig, type LogitsFn } from '../student/predict.js';
import { Tokenizer } from '../student/tokenizer.js';
import type { Batch } from '../student/types.js';
import type { Predictor, SentencePrediction } from './predictor.js';

export interface LoadOptions {
  /** ONNX Runtime intra-op threads (default: all cores) */
  threads?: number;
  /** most sentences per forward pass inside one micro-batch */
  batchSize?: number;
}

function toInt64(a: Int32Array): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]!);
  return out;
}

/** a logits function over an ONNX session with the usual BERT inputs */
export function onnxLogits(session: ort.InferenceSession): LogitsFn {
  const names = new Set(session.inputNames);
  const outName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!;
  return async (batch: Batch) => {
    const dims = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {};
    feeds.input_ids = new ort.Tensor('int64', toInt64(batch.inputIds), dims);
    if (names.has('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', toInt64(batch.attentionMask), dims);
    if (names.has('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch.inputIds.length), dims);
    const out = await session.run(feeds);
    const t = out[outName]!;
    return t.data as Float32Array;
  };
}

export async function loadPredictor(dir: string, opts: LoadOptions = {}): Promise<Predictor> {
  const configFile = path.join(dir, 'config.json');
  const onnxFile = path.join(dir, 'onnx', 'model.onnx');
  if (!existsSync(configFile)) throw new InputError('not a model folder: config.json is missing', dir);
  if (!existsSync(onnxFile)) {
    throw new InputError('the model folder has no onnx/model.onnx (the inference graph `nerd train` exports)', dir);
  }
  let config: { id2label?: Record<string, string>; max_position_embeddings?: number; hidden_size?: number; num_hidden_layers?: number };
  try {
    config = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (err) {
    throw new InputError(`config.json is not valid JSON: ${(err as Error).message}`, configFile);
  }
  let labels: string[];
  try {
    labels = labelsFromConfig(config);
  } catch (err) {
    throw new InputError((err as Error).message, configFile);
  }
  if (labels.length === 0) throw new InputError('config.json has no id2label: not a token-classification model', configFile);
  const tokenizer = await Tokenizer.fromDirectory(dir);
  const threads = opts.threads ?? 0;
  const session = await ort.InferenceSession.create(onnxFile, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const maxSeq = Math.min(config.max_position_embeddings ?? 512, 512);
  const word = new WordPredictor(tokenizer, labels, onnxLogits(session), { maxSeq, batchSize: opts.batchSize ?? 32 });
  const info = {
    dir: path.resolve(dir),
    labels,
    hiddenSize: config.hidden_size,
    layers: config.num_hidden_layers,
    maxSeq,
    onnxBytes: statSync(onnxFile).size,
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
      await session.release();
    },
  };
}
