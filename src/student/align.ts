/**
 * Word ↔ sub-word alignment for pre-tokenised sentences (CoNLL words), with windows for long sentences.
 *
 * Encoding: each word is WordPiece-tokenised on its own (as HF's `is_split_into_words=True`); the word's
 * label goes on its FIRST sub-word and -100 (ignored by the loss) on the others and on [CLS]/[SEP].
 *
 * Words with no sub-words — only control/format characters such as U+FEFF or U+200B, which BERT's
 * normaliser deletes — are encoded as one [UNK] (see `Tokenizer.wordIds`), so that they are trained on and
 * get a prediction like every other word. Hugging Face would silently drop them.
 *
 * Windows: a sentence whose sub-words do not fit `maxLength` ([CLS] + body + [SEP]) is split at word
 * boundaries into windows that overlap by at most `stride` sub-words; nothing is truncated. When predicting,
 * each word takes the logits of the window in which it is most central (the most sub-words of context
 * between it and an artificial cut; a sentence's own start and end are not cuts). A single word with more
 * sub-words than a window body (only possible when maxLength < 102, as WordPiece makes ≤ 100 sub-words of
 * a word) keeps its first sub-words only; its label sits on the first one, so nothing is lost for
 * labelling, and `clippedWords` reports it.
 */
import type { Tokenizer } from './tokenizer.js';

/** Label value ignored by the loss (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_LABEL = -100;

export interface AlignOptions {
  /** most sub-words per window including [CLS] and [SEP]; default the tokenizer's model max length (512) */
  maxLength?: number;
  /**
   * most sub-words shared by two consecutive windows (context carried over); default half the window
   * body. 0 = windows side by side.
   */
  stride?: number;
}

export interface AlignedWindow {
  /** [CLS] sub-words [SEP] */
  inputIds: Int32Array;
  /** per position: index of the word the sub-word belongs to; -1 for [CLS]/[SEP] */
  wordIndex: Int32Array;
  /** per position: label of the word on its first sub-word, -100 elsewhere (only when labels were given) */
  labels?: Int32Array;
  /** the words of this window: [wordStart, wordEnd) */
  wordStart: number;
  wordEnd: number;
  /** per position: [start, end) of the sub-word within its word (UTF-16 units); [0, 0] for [CLS]/[SEP]/[UNK]-for-empty */
  charStart: Int32Array;
  charEnd: Int32Array;
}

export interface AlignedSentence {
  numWords: number;
  windows: AlignedWindow[];
  /** sub-words per word (≥ 1) */
  subwordCounts: Int32Array;
  /** words that had no sub-words and were encoded as [UNK] */
  emptyWords: number[];
  /** words whose sub-words did not all fit one window (first sub-words kept) */
  clippedWords: number[];
}

/** Encodes a sentence of words (and optional label id per word) into one or more windows. */
export function alignWords(
  tokenizer: Tokenizer,
  words: readonly string[],
  labels?: ArrayLike<number>,
  opts: AlignOptions = {},
): AlignedSentence {
  const maxLength = opts.maxLength ?? tokenizer.settings.modelMaxLength;
  const body = maxLength - 2;
  if (!Number.isInteger(maxLength) || body < 1) throw new RangeError(`maxLength must be an integer ≥ 3, got ${maxLength}`);
  const stride = opts.stride ?? Math.floor(body / 2);
  if (!Number.isInteger(stride) || stride < 0 || stride >= body) {
    throw new RangeError(`stride must be an integer in [0, ${body - 1}] for maxLength ${maxLength}, got ${stride}`);
  }
  if (labels && labels.length !== words.length) {
    throw new RangeError(`${labels.length} labels for ${words.length} words`);
  }
  const n = words.length;
  const pieces = words.map((w) => tokenizer.encodeWord(w));
  const emptyWords: number[] = [];
  const clippedWords: number[] = [];
  const counts = new Int32Array(n);
  for (let w = 0; w < n; w++) {
    const len = pieces[w]!.ids.length;
    if (len === 0) emptyWords.push(w);
    if (len > body) clippedWords.push(w);
    counts[w] = Math.min(Math.max(len, 1), body);
  }

  const ranges = planWindows(counts, body, stride);
  const windows = ranges.map(([a, b]) => {
    let len = 2;
    for (let w = a; w < b; w++) len += counts[w]!;
    const inputIds = new Int32Array(len);
    const wordIndex = new Int32Array(len).fill(-1);
    const charStart = new Int32Array(len);
    const charEnd = new Int32Array(len);
    const lab = labels ? new Int32Array(len).fill(IGNORE_LABEL) : undefined;
    inputIds[0] = tokenizer.clsId;
    let pos = 1;
    for (let w = a; w < b; w++) {
      const p = pieces[w]!;
      if (lab) lab[pos] = labels![w]!;
      if (p.ids.length === 0) {
        inputIds[pos] = tokenizer.unkId;
        wordIndex[pos] = w;
        pos++;
        continue;
      }
      for (let k = 0; k < counts[w]!; k++) {
        inputIds[pos] = p.ids[k]!;
        wordIndex[pos] = w;
        charStart[pos] = p.offsets[k]![0];
        charEnd[pos] = p.offsets[k]![1];
        pos++;
      }
    }
    inputIds[pos] = tokenizer.sepId;
    const win: AlignedWindow = { inputIds, wordIndex, wordStart: a, wordEnd: b, charStart, charEnd };
    if (lab) win.labels = lab;
    return win;
  });
  return { numWords: n, windows, subwordCounts: counts, emptyWords, clippedWords };
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
 * Per-word logits [numWords × numLabels] read at each word's first sub-word, stitched across windows: a
 * word in several windows takes the window where it has the most context on its nearer side.
 *
 * @param windowLogits per window, its logits row-major [seq × numLabels] with seq ≥ the window's length
 *   (padding beyond is ignored); `offsets[i]` (default 0) is where window i's rows start in its array, so
 *   rows of a padded batch output can be passed without copying.
 */
export function wordLogits(
  aligned: AlignedSentence,
  windowLogits: readonly Float32Array[],
  numLabels: number,
  offsets?: readonly number[],
): Float32Array {
  const L = numLabels;
  const { windows, numWords } = aligned;
  if (windowLogits.length !== windows.length) {
    throw new RangeError(`${windowLogits.length} logit arrays for ${windows.length} windows`);
  }
  const out = new Float32Array(numWords * L);
  const best = new Float64Array(numWords).fill(-1);
  windows.forEach((win, wi) => {
    const logits = windowLogits[wi]!;
    const base = offsets?.[wi] ?? 0;
    const len = win.inputIds.length;
    if (logits.length < base + len * L) throw new RangeError(`window ${wi}: logits too short for ${len} positions`);
    const body = len - 2;
    const cutLeft = win.wordStart > 0;
    const cutRight = win.wordEnd < numWords;
    let prevWord = -1;
    for (let pos = 1; pos <= body; pos++) {
      const w = win.wordIndex[pos]!;
      if (w === prevWord) continue; // not a first sub-word
      prevWord = w;
      let last = pos;
      while (last + 1 <= body && win.wordIndex[last + 1] === w) last++;
      const left = cutLeft ? pos - 1 : Infinity;
      const right = cutRight ? body - last : Infinity;
      const centrality = Math.min(left, right, 1e9);
      if (centrality <= best[w]!) continue;
      best[w] = centrality;
      out.set(logits.subarray(base + pos * L, base + (pos + 1) * L), w * L);
    }
  });
  for (let w = 0; w < numWords; w++) {
    if (best[w]! < 0) throw new Error(`word ${w} is in no window (internal error)`);
  }
  return out;
}

/** Arg-max label id per word from per-word logits [numWords × numLabels]. */
export function argmaxLabels(logits: Float32Array, numLabels: number): Int32Array {
  const n = logits.length / numLabels;
  const out = new Int32Array(n);
  for (let w = 0; w < n; w++) {
    let b = 0;
    for (let l = 1; l < numLabels; l++) if (logits[w * numLabels + l]! > logits[w * numLabels + b]!) b = l;
    out[w] = b;
  }
  return out;
}

/** Word label ids from the windows' sub-word logits: `argmaxLabels(wordLogits(...))`. */
export function wordLabels(
  aligned: AlignedSentence,
  windowLogits: readonly Float32Array[],
  numLabels: number,
  offsets?: readonly number[],
): Int32Array {
  return argmaxLabels(wordLogits(aligned, windowLogits, numLabels, offsets), numLabels);
}
