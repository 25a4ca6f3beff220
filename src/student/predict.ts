/**
 * Word-level entity predictions from a token classifier's sub-word logits.
 *
 * A sentence (words) is encoded into one or more windows of sub-words ([CLS] w1a w1b w2 ... [SEP]); the
 * label of a word is read at its first sub-word. Sentences longer than the model's maximum become
 * overlapping windows and each word takes its prediction from the window in which it sits farthest from an
 * edge (most context on both sides) — never a silent truncation. Word labels (BIO) become spans with a
 * score: the mean, over the span's words, of the probability of the label predicted for that word.
 *
 * `Predictor` wraps this around any logits function: the exported ONNX model in a checkpoint folder
 * (`Predictor.load(dir)`, used by `nerd predict` and the server) or a training engine (dev evaluation).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Span } from '../corpus/types.js';
import { InputError } from '../errors.js';
import { collate, planBatches, type Example } from './batches.js';
import { planWindows } from './align.js';
import type { Batch } from './types.js';

/** what the encoder needs from a tokenizer */
export interface WordPieceLike {
  /** sub-word ids of one word (no special tokens); [] if it has none */
  wordIds(word: string): number[];
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** words of raw text with character offsets (BERT's basic tokenizer); default `splitWords` below */
  splitWords?(text: string): Array<{ word: string; start: number; end: number }>;
}

/** adapts the WordPiece tokenizer (tokenizer.ts) to what the encoder needs */
export function wordPieceOf(tok: {
  wordIds(w: string): number[];
  splitWords?(text: string): Array<{ word: string; start: number; end: number }>;
  clsId: number;
  sepId: number;
  padId: number;
}): WordPieceLike {
  return {
    clsId: tok.clsId,
    sepId: tok.sepId,
    padId: tok.padId,
    // never empty: a word of only control characters is one [UNK] (Tokenizer.wordIds), so it gets a label
    wordIds: (w) => tok.wordIds(w),
    splitWords: tok.splitWords ? (text) => tok.splitWords!(text) : undefined,
  };
}

/** one window of one sentence, ready for the model */
export interface EncodedWindow extends Example {
  sentence: number;
  window: number;
  /** per sub-word position: the index of the word whose FIRST sub-word sits there, else -1 */
  wordAt: Int32Array;
  /** the words this window holds: [firstWord, endWord) */
  firstWord: number;
  endWord: number;
}

export interface EncodeOptions {
  /** most sub-words per window including [CLS] and [SEP] (the model's max_position_embeddings at most) */
  maxSeq: number;
  /** label id per word for each sentence (training/eval); omitted for prediction */
  labels?: Int32Array[] | number[][];
  /** loss weight per word for each sentence (e.g. teacher span confidence); default 1 */
  wordWeights?: Array<Float32Array | number[] | undefined>;
}

/**
 * Sub-word windows of each sentence. A sentence that fits is one window; a longer one is split at word
 * boundaries into windows that overlap by about half a window.
 */
export function encodeSentences(
  sentences: readonly (readonly string[])[],
  tok: WordPieceLike,
  opts: EncodeOptions,
): EncodedWindow[] {
  const body = opts.maxSeq - 2;
  if (body < 1) throw new Error(`maxSeq must be ≥ 3, got ${opts.maxSeq}`);
  const out: EncodedWindow[] = [];
  sentences.forEach((words, si) => {
    const pieces = words.map((w) => tok.wordIds(w));
    const counts = pieces.map((p) => Math.min(p.length, body));
    const labels = opts.labels?.[si];
    const weights = opts.wordWeights?.[si];
    const n = words.length;
    // windows at word boundaries overlapping by at most half a body (align.ts; an empty sentence is one window)
    const ranges = planWindows(counts, body, Math.floor(body / 2));
    ranges.forEach(([a, b], wi) => {
      const len = 2 + counts.slice(a, b).reduce((x, y) => x + y, 0);
      const inputIds = new Int32Array(len);
      const wordAt = new Int32Array(len).fill(-1);
      const lab = labels ? new Int32Array(len).fill(-100) : undefined;
      const tw = labels && weights ? new Float32Array(len).fill(1) : undefined;
      inputIds[0] = tok.clsId;
      let pos = 1;
      for (let w = a; w < b; w++) {
        const p = pieces[w]!;
        for (let k = 0; k < counts[w]!; k++) {
          inputIds[pos] = p[k]!;
          if (k === 0) {
            wordAt[pos] = w;
            if (lab) lab[pos] = labels![w]!;
            if (tw) tw[pos] = weights![w]!;
          }
          pos++;
        }
      }
      inputIds[pos] = tok.sepId;
      const ex: EncodedWindow = { inputIds, wordAt, sentence: si, window: wi, firstWord: a, endWord: b };
      if (lab) ex.labels = lab;
      if (tw) ex.tokenWeights = tw;
      out.push(ex);
    });
  });
  return out;
}

/** softmax over the last axis of one row of logits */
function softmaxInto(logits: Float32Array, offset: number, L: number, out: Float32Array, outOffset: number): void {
  let max = -Infinity;
  for (let l = 0; l < L; l++) max = Math.max(max, logits[offset + l]!);
  let sum = 0;
  for (let l = 0; l < L; l++) {
    const e = Math.exp(logits[offset + l]! - max);
    out[outOffset + l] = e;
    sum += e;
  }
  for (let l = 0; l < L; l++) out[outOffset + l]! /= sum;
}

/**
 * Label probabilities per word ([nWords × L]) of one sentence from the logits of its windows. `logitsOf(w)`
 * returns the [seqLen × L] logits of window w (a view into a batch's output is fine). A word without a
 * sub-word (possible only for empty strings) gets all its mass on label 0 ("O").
 */
export function wordProbabilities(
  nWords: number,
  numLabels: number,
  windows: ReadonlyArray<{ win: EncodedWindow; logits: Float32Array; offset: number }>,
): Float32Array {
  const L = numLabels;
  const probs = new Float32Array(nWords * L);
  const bestMargin = new Float64Array(nWords).fill(-1);
  for (const { win, logits, offset } of windows) {
    for (let pos = 0; pos < win.wordAt.length; pos++) {
      const w = win.wordAt[pos]!;
      if (w < 0) continue;
      // distance to the nearer window edge, in words (a sentence's own edges count as far away)
      const left = win.firstWord === 0 ? Infinity : w - win.firstWord;
      const right = win.endWord === nWords ? Infinity : win.endWord - 1 - w;
      const margin = Math.min(left, right, 1e9);
      if (margin <= bestMargin[w]!) continue;
      bestMargin[w] = margin;
      softmaxInto(logits, offset + pos * L, L, probs, w * L);
    }
  }
  for (let w = 0; w < nWords; w++) if (bestMargin[w]! < 0) probs[w * L] = 1;
  return probs;
}

export interface WordDecoding {
  /** BIO tag per word, e.g. ["B-PER", "I-PER", "O"] */
  tags: string[];
  /** probability of each word's tag */
  tagProbs: number[];
  /** entity spans (token offsets) with `confidence` = mean tag probability over the span */
  spans: Span[];
}

/** splits "B-PER" into ["B", "PER"]; "O" → ["O", ""] */
function splitTag(tag: string): [string, string] {
  if (tag === 'O' || tag.length < 2) return ['O', ''];
  const dash = tag.indexOf('-');
  if (dash < 0) return ['O', ''];
  return [tag.slice(0, dash), tag.slice(dash + 1)];
}

/**
 * Spans from a word tag sequence, the way conlleval reads predictions: a chunk starts at B-X (or S-X), or at
 * I-X/E-X after O or after a different type; it continues over I-X/E-X of the same type.
 */
export function chunkTags(tags: readonly string[]): Array<{ start: number; end: number; label: string }> {
  const spans: Array<{ start: number; end: number; label: string }> = [];
  let cur: { start: number; end: number; label: string } | undefined;
  tags.forEach((tag, i) => {
    const [p, type] = splitTag(tag);
    const continues = cur && cur.label === type && (p === 'I' || p === 'E');
    if (continues) {
      cur!.end = i + 1;
    } else {
      if (cur) spans.push(cur);
      cur = p === 'O' ? undefined : { start: i, end: i + 1, label: type };
    }
    if (cur && (p === 'E' || p === 'S')) {
      spans.push(cur);
      cur = undefined;
    }
  });
  if (cur) spans.push(cur);
  return spans;
}

/** arg-max tags and scored spans from word probabilities */
/**
 * Best tag sequence under the BIO rules (I-X only after B-X or I-X): Viterbi over log probabilities. Word
 * labels are predicted independently, so plain arg-max can output "O I-PER" or "B-ORG I-LOC", which
 * conlleval reads as extra (mostly wrong) entities; the constrained path repairs those at no cost.
 */
function constrainedPath(probs: Float32Array, nWords: number, id2label: readonly string[]): number[] {
  const L = id2label.length;
  const parts = id2label.map((l) => splitTag(l));
  // allowed(prev, cur): cur is not I-X, or prev is B-X/I-X of the same type
  const allowed = (prev: number, cur: number): boolean => {
    const [cp, ct] = parts[cur]!;
    if (cp !== 'I') return true;
    if (prev < 0) return false;
    const [pp, pt] = parts[prev]!;
    return (pp === 'B' || pp === 'I') && pt === ct;
  };
  const logp = (w: number, l: number) => Math.log(Math.max(probs[w * L + l]!, 1e-30));
  let score = new Float64Array(L);
  const back: Int32Array[] = [];
  for (let l = 0; l < L; l++) score[l] = allowed(-1, l) ? logp(0, l) : -Infinity;
  for (let w = 1; w < nWords; w++) {
    const next = new Float64Array(L).fill(-Infinity);
    const bp = new Int32Array(L);
    for (let l = 0; l < L; l++) {
      const lp = logp(w, l);
      for (let k = 0; k < L; k++) {
        if (!allowed(k, l)) continue;
        const v = score[k]! + lp;
        if (v > next[l]!) {
          next[l] = v;
          bp[l] = k;
        }
      }
    }
    back.push(bp);
    score = next;
  }
  let best = 0;
  for (let l = 1; l < L; l++) if (score[l]! > score[best]!) best = l;
  const path = [best];
  for (let w = nWords - 1; w >= 1; w--) path.push(back[w - 1]![path[path.length - 1]!]!);
  return path.reverse();
}

/**
 * Tags and scored spans from word probabilities. `constrained` (default true) takes the best sequence that
 * obeys BIO (see constrainedPath); false takes each word's arg-max.
 */
export function decodeWords(
  probs: Float32Array,
  nWords: number,
  id2label: readonly string[],
  opts: { constrained?: boolean } = {},
): WordDecoding {
  const L = id2label.length;
  const tags: string[] = [];
  const tagProbs: number[] = [];
  const bio = id2label.every((l) => l === 'O' || /^[BI]-/.test(l));
  const path =
    (opts.constrained ?? true) && bio && nWords > 0
      ? constrainedPath(probs, nWords, id2label)
      : Array.from({ length: nWords }, (_, w) => {
          let best = 0;
          for (let l = 1; l < L; l++) if (probs[w * L + l]! > probs[w * L + best]!) best = l;
          return best;
        });
  path.forEach((l, w) => {
    tags.push(id2label[l]!);
    tagProbs.push(probs[w * L + l]!);
  });
  const spans: Span[] = chunkTags(tags).map((c) => {
    let sum = 0;
    for (let w = c.start; w < c.end; w++) sum += tagProbs[w]!;
    return { ...c, confidence: sum / (c.end - c.start) };
  });
  return { tags, tagProbs, spans };
}

/** runs a batch through a model and returns its logits, row-major [batch, seq, labels] */
export type LogitsFn = (batch: Batch) => Promise<Float32Array>;

export interface PredictorOptions {
  maxSeq: number;
  /** most sentences per forward pass (default 64) */
  batchSize?: number;
  /** most padded sub-words per forward pass (default 8192) */
  maxTokens?: number;
  /** BIO-constrained decoding (default true); false = each word's arg-max */
  constrained?: boolean;
}

/** a sentence's prediction: word tags and spans (token offsets) with scores */
export interface WordPrediction extends WordDecoding {
  tokens: string[];
}

/** a raw text's prediction: words found by the basic tokenizer, and spans with character offsets too */
export interface TextPrediction extends WordPrediction {
  text: string;
  tokenOffsets: Array<[number, number]>;
}

/**
 * Splits raw text into words the way BERT's basic tokenizer does (whitespace, then every punctuation
 * character on its own), keeping character offsets (UTF-16 code units, end exclusive). CoNLL-style
 * corpora are tokenised the same way, so a model trained on them sees familiar words.
 */
export function splitWords(text: string): Array<{ word: string; start: number; end: number }> {
  const out: Array<{ word: string; start: number; end: number }> = [];
  const re = /[\p{P}\p{S}]|[^\s\p{P}\p{S}]+/gu;
  for (const m of text.matchAll(re)) out.push({ word: m[0], start: m.index!, end: m.index! + m[0].length });
  return out;
}

/**
 * Logits from an exported inference model (ONNX, inputs input_ids/attention_mask[/token_type_ids] int64
 * [batch, seq], output logits [batch, seq, labels]) through onnxruntime-node.
 */
export class OnnxLogits {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly numLabels: number,
  ) {}

  static async create(model: string | Uint8Array, numLabels: number, threads?: number): Promise<OnnxLogits> {
    const opts: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    const session =
      typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
    return new OnnxLogits(session, numLabels);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async run(batch: Batch): Promise<Float32Array> {
    const dims = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      let data: BigInt64Array;
      if (name === 'input_ids') data = BigInt64Array.from(batch.inputIds, (x) => BigInt(x));
      else if (name === 'attention_mask') data = BigInt64Array.from(batch.attentionMask, (x) => BigInt(x));
      else if (name === 'token_type_ids') data = new BigInt64Array(batch.inputIds.length);
      else throw new Error(`the ONNX model has an input "${name}" this predictor does not know`);
      feeds[name] = new ort.Tensor('int64', data, dims);
    }
    const result = await this.session.run(feeds);
    const out = result['logits'] ?? result[this.session.outputNames[0]!]!;
    return out.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

export class Predictor {
  readonly id2label: string[];
  private readonly tok: WordPieceLike;
  private readonly run: LogitsFn;
  private readonly opts: Required<PredictorOptions>;

  constructor(tok: WordPieceLike, id2label: string[], run: LogitsFn, opts: PredictorOptions) {
    this.tok = tok;
    this.id2label = id2label;
    this.run = run;
    this.opts = { batchSize: 64, maxTokens: 8192, constrained: true, ...opts };
  }

  /** the checkpoint folder, when loaded with `Predictor.load` */
  dir?: string;
  private closer?: () => Promise<void>;

  /**
   * Loads a checkpoint folder (config.json, vocab.txt or tokenizer.json, onnx/model.onnx). A folder without
   * onnx/model.onnx (e.g. a Hugging Face checkpoint) is exported on the fly from its weights.
   */
  static async load(
    dir: string,
    opts: { threads?: number; batchSize?: number; maxTokens?: number; maxSeq?: number; constrained?: boolean } = {},
  ): Promise<Predictor> {
    const configFile = path.join(dir, 'config.json');
    if (!existsSync(configFile)) throw new InputError('not a model folder: no config.json', dir);
    const config = await readJson<{ id2label?: Record<string, string>; max_position_embeddings?: number }>(configFile);
    const labels = labelsFromConfig(config);
    if (labels.length === 0) throw new InputError('config.json has no id2label: not a token classifier', configFile);
    const { Tokenizer } = await import('./tokenizer.js');
    const tok = await Tokenizer.fromDirectory(dir);
    const onnxFile = path.join(dir, 'onnx', 'model.onnx');
    let model: string | Uint8Array = onnxFile;
    if (!existsSync(onnxFile)) {
      const { loadCheckpoint } = await import('./checkpoint.js');
      const { BertEngine } = await import('./engine.js');
      const ck = await loadCheckpoint(dir);
      const engine = await BertEngine.create(ck.config, ck.params, { threads: opts.threads });
      model = engine.inferenceModel();
      await engine.release();
    }
    const runner = await OnnxLogits.create(model, labels.length, opts.threads);
    // windows no longer than the tokenizer's model_max_length: a model trained from scratch records its
    // training window there, as positions beyond it were never trained
    const maxSeq = Math.min(opts.maxSeq ?? tok.settings.modelMaxLength, config.max_position_embeddings ?? 512);
    const p = new Predictor(wordPieceOf(tok), labels, (b) => runner.run(b), {
      maxSeq,
      batchSize: opts.batchSize ?? 64,
      maxTokens: opts.maxTokens ?? 8192,
      constrained: opts.constrained ?? true,
    });
    p.dir = dir;
    p.closer = () => runner.close();
    return p;
  }

  async close(): Promise<void> {
    await this.closer?.();
  }

  /** entity types, e.g. ["LOC", "MISC", "ORG", "PER"] */
  get types(): string[] {
    return [...new Set(this.id2label.filter((l) => l !== 'O').map((l) => splitTag(l)[1]))].sort();
  }

  /** predictions for pre-tokenised sentences (any number; batched by length internally) */
  async predictSentences(sentences: readonly (readonly string[])[]): Promise<WordPrediction[]> {
    const windows = encodeSentences(sentences, this.tok, { maxSeq: this.opts.maxSeq });
    const L = this.id2label.length;
    const perSentence: Array<Array<{ win: EncodedWindow; logits: Float32Array; offset: number }>> = sentences.map(
      () => [],
    );
    const plan = planBatches(
      windows.map((w) => w.inputIds.length),
      { batchSize: this.opts.batchSize, maxTokens: this.opts.maxTokens, seed: 0, epoch: 0, shuffle: false, poolBatches: 0 },
    );
    for (const idx of plan) {
      const batch = collate(windows, idx, { padId: this.tok.padId });
      const logits = await this.run(batch);
      if (logits.length !== batch.batchSize * batch.seqLen * L) {
        throw new Error(
          `model returned ${logits.length} logits for a ${batch.batchSize}×${batch.seqLen} batch with ${L} labels`,
        );
      }
      idx.forEach((wi, row) => {
        const win = windows[wi]!;
        perSentence[win.sentence]!.push({ win, logits, offset: row * batch.seqLen * L });
      });
    }
    return sentences.map((tokens, si) => {
      const probs = wordProbabilities(tokens.length, L, perSentence[si]!);
      return { tokens: [...tokens], ...decodeWords(probs, tokens.length, this.id2label, { constrained: this.opts.constrained }) };
    });
  }

  /** predictions for raw texts: words by `splitWords`, spans with token AND character offsets */
  async predictTexts(texts: readonly string[]): Promise<TextPrediction[]> {
    const split = texts.map((t) => (this.tok.splitWords ? this.tok.splitWords(t) : splitWords(t)));
    const preds = await this.predictSentences(split.map((ws) => ws.map((w) => w.word)));
    return preds.map((p, i) => {
      const ws = split[i]!;
      const tokenOffsets = ws.map((w) => [w.start, w.end] as [number, number]);
      const spans = p.spans.map((s) => ({ ...s, charStart: ws[s.start]!.start, charEnd: ws[s.end - 1]!.end }));
      return { ...p, spans, text: texts[i]!, tokenOffsets };
    });
  }
}

/** reads `id2label` of a checkpoint's config.json into an array ordered by id */
export function labelsFromConfig(config: { id2label?: Record<string, string> }): string[] {
  const entries = Object.entries(config.id2label ?? {}).map(([k, v]) => [Number(k), v] as const);
  entries.sort((a, b) => a[0] - b[0]);
  entries.forEach(([k], i) => {
    if (k !== i) throw new Error(`id2label ids must be 0..n-1, found ${k} at position ${i}`);
  });
  return entries.map(([, v]) => v);
}

/** true when `dir` looks like a checkpoint folder */
export function isCheckpointDir(dir: string): boolean {
  return existsSync(path.join(dir, 'config.json'));
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
