/**
 * Word-level entity predictions from a token classifier's sub-word logits.
 *
 * A sentence (words) is encoded into one or more windows of sub-words and each word's label probabilities
 * are read back at its first sub-word, from the window where it has the most context (align.ts: the one
 * implementation of windows and word alignment, shared with training) — never a silent truncation. Word
 * labels (BIO) become spans with a score: the mean, over the span's words, of the probability of the label
 * predicted for that word.
 *
 * `Predictor` wraps this around any logits function: the exported ONNX model in a checkpoint folder
 * (`Predictor.load(dir)`, used by `nerd predict` and the server) or a training engine (dev evaluation).
 */
import path from 'node:path';
import type { Span } from '../corpus/types.js';
import { spansFromTags, splitTag } from '../corpus/tags.js';
import { splitWords } from '../corpus/words.js';
import { InputError } from '../errors.js';
import { encodeSentences, wordPieceOf, wordProbabilities, type WindowLogits, type WordPieceLike } from './align.js';
import { collate, planBatches } from './batches.js';
import { OnnxLogits } from './onnx-logits.js';
import type { Batch } from './types.js';

export interface WordDecoding {
  /** BIO tag per word, e.g. ["B-PER", "I-PER", "O"] */
  tags: string[];
  /** probability of each word's tag */
  tagProbs: number[];
  /** entity spans (token offsets) with `confidence` = mean tag probability over the span */
  spans: Span[];
}

/**
 * Spans from a word tag sequence, by the corpus stage's rules (corpus/tags.ts `spansFromTags(tags, 'bioes')`):
 * on BIO tags exactly as conlleval reads them (a chunk starts at B-X, or at I-X after O or after another
 * type); on BIOES tags as BIOES means them (E-X/S-X end a chunk, S-X is one), where conlleval would merge
 * touching same-type chunks.
 */
export function chunkTags(tags: readonly string[]): Span[] {
  return spansFromTags(tags, 'bioes');
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
  /** per word, the probability of every label (id2label order); only when asked (`distributions: true`) */
  labelProbs?: number[][];
}

/** a raw text's prediction: words found by the basic tokenizer, and spans with character offsets too */
export interface TextPrediction extends WordPrediction {
  text: string;
  tokenOffsets: Array<[number, number]>;
}

/** raw text → words with character offsets: the corpus stage's one word split (corpus/words.ts) */
export { splitWords };

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
   * Loads a checkpoint folder (config.json, vocab.txt or tokenizer.json, onnx/model.onnx) or a hub name
   * ORG/NAME[@REVISION]. A folder without onnx/model.onnx (e.g. a Hugging Face checkpoint) is exported on the
   * fly from its weights.
   */
  static async load(
    spec: string,
    opts: {
      threads?: number;
      batchSize?: number;
      maxTokens?: number;
      maxSeq?: number;
      constrained?: boolean;
      /** run onnx/model_quantized.onnx (int8, `nerd export --quantize int8`) instead of onnx/model.onnx */
      quantized?: boolean;
    } = {},
  ): Promise<Predictor> {
    // a folder or a hub name ORG/NAME[@REVISION]; the graph is onnx/model.onnx or exported from the weights
    const { openModelFolder } = await import('./model-folder.js');
    const opened = await openModelFolder(spec, { threads: opts.threads, quantized: opts.quantized });
    const { dir, config, labels, onnx: model } = opened;
    const { Tokenizer } = await import('./tokenizer.js');
    const tok = await Tokenizer.fromDirectory(dir);
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
  async predictSentences(
    sentences: readonly (readonly string[])[],
    o: { distributions?: boolean } = {},
  ): Promise<WordPrediction[]> {
    await this.tok.prepare?.(sentences.flat());
    const windows = encodeSentences(sentences, this.tok, { maxSeq: this.opts.maxSeq });
    const L = this.id2label.length;
    const perSentence: WindowLogits[][] = sentences.map(() => []);
    const plan = planBatches(
      windows.map((w) => w.inputIds.length),
      {
        batchSize: this.opts.batchSize,
        maxTokens: this.opts.maxTokens,
        seed: 0,
        epoch: 0,
        shuffle: false,
        poolBatches: 0,
      },
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
      return {
        tokens: [...tokens],
        ...decodeWords(probs, tokens.length, this.id2label, { constrained: this.opts.constrained }),
        ...(o.distributions
          ? {
              labelProbs: Array.from({ length: tokens.length }, (_, w) =>
                Array.from(probs.subarray(w * L, (w + 1) * L)),
              ),
            }
          : {}),
      };
    });
  }

  /**
   * predictions for raw texts: words by `splitWords` (corpus/words.ts, the split the character-offset
   * training data got), spans with token AND character offsets
   */
  async predictTexts(texts: readonly string[]): Promise<TextPrediction[]> {
    const split = texts.map((t) => splitWords(t));
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
