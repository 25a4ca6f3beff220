/**
 * Word ↔ sub-word alignment and windows: the one implementation used by training (train.ts), prediction
 * (predict.ts) and the server (through predict.ts).
 *
 * Encoding: each word is WordPiece-tokenised on its own (as HF's `is_split_into_words=True`); the word's
 * label goes on its FIRST sub-word and -100 (ignored by the loss) on the others and on [CLS]/[SEP].
 *
 * Words with no sub-words — only control/format characters such as U+FEFF or U+200B, which BERT's
 * normaliser deletes — are encoded as one [UNK] by the tokenizer (`Tokenizer.wordIds`), so that they are
 * trained on and get a prediction like every other word. Hugging Face would silently drop them.
 *
 * Windows: a sentence whose sub-words do not fit `maxSeq` ([CLS] + body + [SEP]) is split at word
 * boundaries into windows that overlap by at most `stride` sub-words (default half the body); nothing is
 * truncated. When predicting, each word takes the output of the window in which it is most central: the
 * most sub-words of context between the word and an artificial cut, on its nearer side (a sentence's own
 * start and end are not cuts). A single word with more sub-words than a window body keeps its first
 * sub-words only; its label sits on the first one, so nothing is lost for labelling.
 */
import type { Example } from './batches.js';

/** Label value ignored by the loss (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_LABEL = -100;

/** what the encoder needs from a tokenizer (`Tokenizer` in tokenizer.ts has all of it) */
export interface WordPieceLike {
  /** sub-word ids of one word (no special tokens); a word with none should give [unk] (Tokenizer.wordIds) */
  wordIds(word: string): number[];
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** encodes words ahead, for tokenizers that only encode asynchronously (tokenizer-hf.ts); await before encoding */
  prepare?(words: string[]): Promise<void>;
}

/** adapts a tokenizer object (tokenizer.ts) to what the encoder needs, with its methods bound */
export function wordPieceOf(tok: {
  wordIds(w: string): number[];
  prepareWords?(words: Iterable<string>): Promise<void>;
  clsId: number;
  sepId: number;
  padId: number;
}): WordPieceLike {
  return {
    clsId: tok.clsId,
    sepId: tok.sepId,
    padId: tok.padId,
    wordIds: (w) => tok.wordIds(w),
    prepare: tok.prepareWords ? (words) => tok.prepareWords!(words) : undefined,
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
  /** most sub-words two consecutive windows share; default half the window body; 0 = side by side */
  stride?: number;
  /** label id per word for each sentence (training/eval); omitted for prediction */
  labels?: ReadonlyArray<ArrayLike<number>>;
  /** loss weight per word for each sentence (e.g. teacher span confidence); default 1 */
  wordWeights?: ReadonlyArray<ArrayLike<number> | undefined>;
}

/**
 * Sub-word windows of each sentence (see the file comment). A sentence that fits is one window; an empty
 * sentence is one window [CLS] [SEP].
 */
export function encodeSentences(
  sentences: readonly (readonly string[])[],
  tok: WordPieceLike,
  opts: EncodeOptions,
): EncodedWindow[] {
  const body = opts.maxSeq - 2;
  if (!Number.isInteger(opts.maxSeq) || body < 1)
    throw new RangeError(`maxSeq must be an integer ≥ 3, got ${opts.maxSeq}`);
  const stride = opts.stride ?? Math.floor(body / 2);
  if (!Number.isInteger(stride) || stride < 0 || stride >= body) {
    throw new RangeError(`stride must be an integer in [0, ${body - 1}] for maxSeq ${opts.maxSeq}, got ${stride}`);
  }
  const out: EncodedWindow[] = [];
  sentences.forEach((words, si) => {
    const pieces = words.map((w) => tok.wordIds(w));
    const counts = pieces.map((p) => Math.min(p.length, body));
    const labels = opts.labels?.[si];
    const weights = opts.wordWeights?.[si];
    if (labels && labels.length !== words.length) {
      throw new RangeError(`sentence ${si}: ${labels.length} labels for ${words.length} words`);
    }
    planWindows(counts, body, stride).forEach(([a, b], wi) => {
      let len = 2;
      for (let w = a; w < b; w++) len += counts[w]!;
      const inputIds = new Int32Array(len);
      const wordAt = new Int32Array(len).fill(-1);
      const lab = labels ? new Int32Array(len).fill(IGNORE_LABEL) : undefined;
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

/**
 * Word ranges [start, end) of the windows: greedy fill up to `body` sub-words; the next window starts at the
 * earliest word such that the sub-words it shares with the previous window are at most `stride`, and always
 * after the previous window's start (so every window makes progress). An empty sentence is one empty window.
 */
export function planWindows(counts: ArrayLike<number>, body: number, stride: number): Array<[number, number]> {
  const n = counts.length;
  const ranges: Array<[number, number]> = [];
  if (n === 0) return [[0, 0]];
  let s = 0;
  for (;;) {
    let e = s;
    let used = 0;
    while (e < n && (e === s || used + counts[e]! <= body)) used += counts[e++]!;
    ranges.push([s, e]);
    if (e >= n) break;
    let next = e;
    let shared = 0;
    while (next - 1 > s && shared + counts[next - 1]! <= stride) shared += counts[--next]!;
    s = next;
  }
  return ranges;
}

/**
 * Context of each word in a window, in sub-words: for the word whose first sub-word is at `pos`, the fewer
 * of (sub-words between [CLS] and it, when the window's start is a cut) and (sub-words between its last
 * sub-word and [SEP], when the window's end is a cut); Infinity when neither side is cut. Indexed by
 * position; -1 where no word starts.
 */
export function windowCentrality(win: EncodedWindow, nWords: number): Float64Array {
  const len = win.wordAt.length;
  const body = len - 2;
  const out = new Float64Array(len).fill(-1);
  const cutLeft = win.firstWord > 0;
  const cutRight = win.endWord < nWords;
  let next = body + 1; // position after the current word's last sub-word ([SEP] for the last word)
  for (let pos = body; pos >= 1; pos--) {
    if (win.wordAt[pos]! < 0) continue;
    const left = cutLeft ? pos - 1 : Infinity;
    const right = cutRight ? body - (next - 1) : Infinity;
    out[pos] = Math.min(left, right);
    next = pos;
  }
  return out;
}

/** softmax over one row of logits into `out` */
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

/** a window of one sentence and where its [seq × L] logits start in `logits` (a padded batch output is fine) */
export interface WindowLogits {
  win: EncodedWindow;
  logits: Float32Array;
  offset: number;
}

/**
 * Label probabilities per word ([nWords × L]) of one sentence from the logits of its windows, read at each
 * word's first sub-word; a word in several windows takes the window where it is most central
 * (`windowCentrality`; ties go to the earlier window). A word no window labels (a WordPieceLike that gave
 * it no sub-word) gets all its mass on label 0 ("O").
 */
export function wordProbabilities(nWords: number, numLabels: number, windows: readonly WindowLogits[]): Float32Array {
  const L = numLabels;
  const probs = new Float32Array(nWords * L);
  const best = new Float64Array(nWords).fill(-1);
  for (const { win, logits, offset } of windows) {
    if (logits.length < offset + win.wordAt.length * L) {
      throw new RangeError(
        `window ${win.window} of sentence ${win.sentence}: logits too short for ${win.wordAt.length} positions`,
      );
    }
    const centrality = windowCentrality(win, nWords);
    for (let pos = 1; pos < win.wordAt.length - 1; pos++) {
      const w = win.wordAt[pos]!;
      if (w < 0 || centrality[pos]! <= best[w]!) continue;
      best[w] = centrality[pos]!;
      softmaxInto(logits, offset + pos * L, L, probs, w * L);
    }
  }
  for (let w = 0; w < nWords; w++) if (best[w]! < 0) probs[w * L] = 1;
  return probs;
}
