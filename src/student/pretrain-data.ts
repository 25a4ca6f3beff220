/**
 * Unlabelled text for masked-LM pretraining (pretrain.ts): reading it, and whole-word masking.
 *
 * Text: any corpus format (CoNLL, JSONL, token JSONL: the words of each sentence, labels ignored) or plain
 * text, one sentence per line (split into words as the server splits raw text: the tokenizer's
 * `splitWords`). `auto` tells plain text from CoNLL by its lines: a CoNLL line is one token followed by
 * columns whose last is a tag (O, B-X, I-X, ...) or a document marker.
 *
 * Masking (BERT, whole-word as in Hugging Face's DataCollatorForWholeWordMask): in each window, words are
 * taken in a random order while their sub-words fit 15% of the window's sub-words (at least one word);
 * each sub-word of a chosen word becomes [MASK] with probability 0.8, a random token with 0.1, and stays
 * itself with 0.1; the loss asks for the original token at every chosen position. Masks are drawn afresh
 * each epoch from Rng.derive(seed, epoch, example): a pure function, so a resumed run masks exactly as the
 * uninterrupted one.
 */
import { parseCorpus } from '../corpus/index.js';
import { readText } from '../files.js';
import { Rng } from '../random.js';
import type { EncodedWindow } from './align.js';
import type { MaskedBatch } from './engine.js';

export type TextFormat = 'auto' | 'text' | 'conll' | 'jsonl' | 'tokens-jsonl';
export const TEXT_FORMATS: readonly TextFormat[] = ['auto', 'text', 'conll', 'jsonl', 'tokens-jsonl'];

const TAG = /^(O|[BIES]-\S+|[BIES]|-X-)$/;

/** `text` or a corpus format, judged from the first non-blank lines (see the file comment). */
export function detectTextFormat(content: string, file: string): Exclude<TextFormat, 'auto'> {
  const lines = content
    .split('\n', 400)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) return 'text';
  if (lines[0]!.startsWith('{')) return /"text"\s*:/.test(lines[0]!) ? 'jsonl' : 'tokens-jsonl';
  let conll = 0;
  for (const l of lines) {
    const cols = l.split(/\s+/);
    if (l.startsWith('-DOCSTART-') || (cols.length >= 2 && TAG.test(cols[cols.length - 1]!))) conll++;
  }
  void file;
  return conll >= 0.9 * lines.length ? 'conll' : 'text';
}

/**
 * The sentences (as word lists) of one text file. `splitWords` splits a plain-text line into words.
 */
export function readTextFile(
  file: string,
  format: TextFormat,
  splitWords: (text: string) => Array<{ word: string }>,
): string[][] {
  const content = readText(file, 'text');
  const f = format === 'auto' ? detectTextFormat(content, file) : format;
  if (f === 'text') {
    const out: string[][] = [];
    for (const line of content.split('\n')) {
      const words = splitWords(line).map((w) => w.word);
      if (words.length) out.push(words);
    }
    return out;
  }
  return parseCorpus(content, file, { format: f })
    .corpus.sentences.map((s) => s.tokens)
    .filter((t) => t.length > 0);
}

export interface MaskingOptions {
  /** share of sub-words to predict (default 0.15) */
  maskProb?: number;
  maskId: number;
  vocabSize: number;
  seed: number;
}

/** One window's masking: the masked input ids, and the positions (within the window) with their original ids. */
export function maskWindow(
  win: EncodedWindow,
  epoch: number,
  index: number,
  o: MaskingOptions,
): { ids: Int32Array; positions: number[]; labels: number[] } {
  const ids = Int32Array.from(win.inputIds);
  const n = ids.length;
  // words: runs of sub-words that start where wordAt ≥ 0, between [CLS] (0) and [SEP] (n − 1)
  const starts: number[] = [];
  for (let t = 1; t < n - 1; t++) if (win.wordAt[t]! >= 0) starts.push(t);
  const positions: number[] = [];
  const labels: number[] = [];
  if (starts.length === 0) return { ids, positions, labels };
  const rng = Rng.derive(o.seed, epoch, index);
  const order = rng.shuffle(starts.map((_, i) => i));
  const budget = Math.max(1, Math.round((o.maskProb ?? 0.15) * (n - 2)));
  const chosen: Array<[number, number]> = [];
  let covered = 0;
  for (const w of order) {
    const a = starts[w]!;
    const b = w + 1 < starts.length ? starts[w + 1]! : n - 1;
    if (covered > 0 && covered + (b - a) > budget) continue;
    chosen.push([a, b]);
    covered += b - a;
    if (covered >= budget) break;
  }
  chosen.sort((x, y) => x[0] - y[0]);
  for (const [a, b] of chosen) {
    for (let t = a; t < b; t++) {
      positions.push(t);
      labels.push(ids[t]!);
      const r = rng.next();
      if (r < 0.8) ids[t] = o.maskId;
      else if (r < 0.9) ids[t] = rng.int(o.vocabSize);
    }
  }
  return { ids, positions, labels };
}

/** A padded masked-LM batch of windows `indices` at `epoch`. */
export function collateMasked(
  windows: readonly EncodedWindow[],
  indices: readonly number[],
  epoch: number,
  padId: number,
  o: MaskingOptions,
): MaskedBatch {
  const masked = indices.map((i) => maskWindow(windows[i]!, epoch, i, o));
  const T = Math.max(1, ...masked.map((m) => m.ids.length));
  const B = indices.length;
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const positions: number[] = [];
  const labels: number[] = [];
  masked.forEach((m, r) => {
    inputIds.set(m.ids, r * T);
    attentionMask.fill(1, r * T, r * T + m.ids.length);
    for (let k = 0; k < m.positions.length; k++) {
      positions.push(r * T + m.positions[k]!);
      labels.push(m.labels[k]!);
    }
  });
  return {
    batchSize: B,
    seqLen: T,
    inputIds,
    attentionMask,
    maskedPositions: Int32Array.from(positions),
    maskedLabels: Int32Array.from(labels),
  };
}
