import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '../../src/student/tokenizer.js';
import {
  encodeSentences,
  planWindows,
  wordPieceOf,
  wordProbabilities,
  IGNORE_LABEL,
  type EncodedWindow,
} from '../../src/student/align.js';

const DATA = path.resolve(process.cwd(), '../shared/data');

function conll(file: string): Array<{ words: string[]; tags: string[] }> {
  const out: Array<{ words: string[]; tags: string[] }> = [];
  let cur = { words: [] as string[], tags: [] as string[] };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') {
      if (cur.words.length) out.push(cur);
      cur = { words: [], tags: [] };
    } else {
      const cols = line.split(' ');
      cur.words.push(cols[0]!);
      cur.tags.push(cols[cols.length - 1]!);
    }
  }
  if (cur.words.length) out.push(cur);
  return out;
}

/** the argmax label per word of word probabilities [n × L] */
function argmax(probs: Float32Array, L: number): number[] {
  return Array.from({ length: probs.length / L }, (_, w) => {
    let b = 0;
    for (let l = 1; l < L; l++) if (probs[w * L + l]! > probs[w * L + b]!) b = l;
    return b;
  });
}

/** positions of word w's sub-words in a window (first sub-word marked in wordAt, the rest follow it) */
function positionsOf(win: EncodedWindow, w: number): number[] {
  const first = win.wordAt.indexOf(w);
  if (first < 0) return [];
  let last = first;
  while (last + 1 < win.wordAt.length - 1 && win.wordAt[last + 1] === -1) last++;
  return Array.from({ length: last - first + 1 }, (_, k) => first + k);
}

describe('windows and word alignment (align.ts)', () => {
  let tk: Tokenizer;
  let sentences: Array<{ words: string[]; tags: string[] }>;
  const labelIds = new Map<string, number>();
  beforeAll(async () => {
    tk = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'));
    sentences = conll(path.join(DATA, 'conll2003/dev.txt'));
    for (const s of sentences) for (const t of s.tags) if (!labelIds.has(t)) labelIds.set(t, labelIds.size);
  });

  it('encodes CoNLL sentences exactly as the tokenizer encodes the joined text, labels on first sub-words', () => {
    const some = sentences.slice(0, 800);
    const labels = some.map((s) => s.tags.map((t) => labelIds.get(t)!));
    const wins = encodeSentences(
      some.map((s) => s.words),
      wordPieceOf(tk),
      { maxSeq: 4096, labels },
    );
    expect(wins).toHaveLength(some.length);
    wins.forEach((win, i) => {
      const { words } = some[i]!;
      expect(win.sentence).toBe(i);
      expect([...win.inputIds]).toEqual(tk.encode(words.join(' ')).ids);
      const labelled = [...win.labels!].map((l, pos) => [l, pos] as const).filter(([l]) => l !== IGNORE_LABEL);
      // one label per word, at the word's first sub-word, in order
      expect(labelled.map(([l]) => l)).toEqual(labels[i]);
      labelled.forEach(([, pos], w) => expect(win.wordAt[pos]).toBe(w));
      expect([...win.wordAt].filter((w) => w >= 0)).toEqual(words.map((_, w) => w));
    });
  });

  it('gives a word of only control characters one [UNK] carrying its label', () => {
    const [win] = encodeSentences([['Paris', '\uFEFF', 'x\u200B', '\u200B']], tk, {
      maxSeq: 64,
      labels: [[1, 2, 3, 4]],
    });
    expect([...win!.inputIds]).toEqual([tk.clsId, tk.tokenId('Paris'), tk.unkId, tk.tokenId('x'), tk.unkId, tk.sepId]);
    expect([...win!.labels!]).toEqual([IGNORE_LABEL, 1, 2, 3, 4, IGNORE_LABEL]);
    const logits = new Float32Array(win!.inputIds.length * 5);
    for (let pos = 1; pos < win!.inputIds.length - 1; pos++) logits[pos * 5 + win!.labels![pos]!] = 1;
    expect(argmax(wordProbabilities(4, 5, [{ win: win!, logits, offset: 0 }]), 5)).toEqual([1, 2, 3, 4]);
  });

  it('handles an empty sentence', () => {
    const [win] = encodeSentences([[]], tk, { maxSeq: 16 });
    expect([...win!.inputIds]).toEqual([tk.clsId, tk.sepId]);
    expect(wordProbabilities(0, 3, [{ win: win!, logits: new Float32Array(6), offset: 0 }])).toHaveLength(0);
  });

  it('plans windows that cover every word, fit, and overlap by at most the stride', () => {
    const counts = [3, 1, 1, 2, 5, 1, 1, 1, 4, 2, 2, 1, 1, 3];
    for (const body of [5, 6, 8, 13]) {
      for (const stride of [0, 1, 2, Math.floor(body / 2), body - 1]) {
        const ranges = planWindows(counts, body, stride);
        expect(ranges[0]![0]).toBe(0);
        expect(ranges[ranges.length - 1]![1]).toBe(counts.length);
        ranges.forEach(([a, b], i) => {
          const used = counts.slice(a, b).reduce((x, y) => x + y, 0);
          expect(b - a === 1 || used <= body).toBe(true);
          if (i > 0) {
            const [pa, pb] = ranges[i - 1]!;
            expect(a).toBeGreaterThan(pa);
            expect(a).toBeLessThanOrEqual(pb); // contiguous or overlapping: no word skipped
            expect(counts.slice(a, pb).reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(stride);
          }
        });
      }
    }
  });

  it('splits long sentences into windows and stitches each word from the window where it has most sub-word context', () => {
    const L = 9;
    const long = sentences.filter((s) => s.words.length >= 30).slice(0, 40);
    expect(long.length).toBe(40);
    let decidedBySubwords = 0;
    for (const { words, tags } of long) {
      for (const [maxSeq, stride] of [
        [16, 4],
        [24, 11],
        [12, 0],
      ] as const) {
        const labels = tags.map((t) => labelIds.get(t)!);
        const wins = encodeSentences([words], tk, { maxSeq, stride, labels: [labels] });
        expect(wins.length).toBeGreaterThan(1);
        // every window's body is a contiguous slice of the whole sentence's sub-words
        const full = tk.encode(words.join(' ')).ids.slice(1, -1);
        const [whole] = encodeSentences([words], tk, { maxSeq: 4096 });
        for (const win of wins) {
          expect(win.inputIds.length).toBeLessThanOrEqual(maxSeq);
          expect(win.inputIds[0]).toBe(tk.clsId);
          expect(win.inputIds[win.inputIds.length - 1]).toBe(tk.sepId);
          const firstPos = whole!.wordAt.indexOf(win.firstWord);
          expect([...win.inputIds.slice(1, -1)]).toEqual(
            full.slice(firstPos - 1, firstPos - 1 + win.inputIds.length - 2),
          );
        }
        // a fake model whose output depends on the position in the window: the word's label, and in an
        // extra column the window index and the position, so the test sees which row each word was read from
        const W = L + 2;
        const seq = maxSeq + 3; // padded batch rows, as Predictor passes them
        const batch = new Float32Array(wins.length * seq * W);
        wins.forEach((win, wi) => {
          for (let pos = 0; pos < win.inputIds.length; pos++) {
            const row = (wi * seq + pos) * W;
            if (win.labels![pos] !== IGNORE_LABEL) batch[row + win.labels![pos]!] = 30;
            batch[row + L] = wi;
            batch[row + L + 1] = pos;
          }
        });
        const probs = wordProbabilities(
          words.length,
          W,
          wins.map((win, wi) => ({ win, logits: batch, offset: wi * seq * W })),
        );
        expect(argmax(probs, W)).toEqual(labels);
        // recover (window, position) from the softmax: p[L]/p[L+1] = exp(wi - pos)
        for (let w = 0; w < words.length; w++) {
          // brute force: each window holding w, its context in sub-words to the nearer artificial cut
          let bestWin = -1;
          let bestScore = -1;
          let bestWords = -1;
          let bestByWords = -1;
          wins.forEach((win, wi) => {
            if (w < win.firstWord || w >= win.endWord) return;
            const ps = positionsOf(win, w);
            const body = win.inputIds.length - 2;
            const left = win.firstWord > 0 ? ps[0]! - 1 : Infinity;
            const right = win.endWord < words.length ? body - ps[ps.length - 1]! : Infinity;
            const score = Math.min(left, right);
            if (score > bestScore) [bestScore, bestWin] = [score, wi];
            const byWords = Math.min(
              win.firstWord > 0 ? w - win.firstWord : Infinity,
              win.endWord < words.length ? win.endWord - 1 - w : Infinity,
            );
            if (byWords > bestWords) [bestWords, bestByWords] = [byWords, wi];
          });
          if (bestByWords !== bestWin) decidedBySubwords++;
          const pos = positionsOf(wins[bestWin]!, w)[0]!;
          const ratio = Math.log(probs[w * W + L]! / probs[w * W + L + 1]!);
          expect(Math.round(ratio)).toBe(bestWin - pos);
        }
      }
    }
    // the data exercise the difference between sub-word and word distance
    expect(decidedBySubwords).toBeGreaterThan(0);
  });

  it('keeps a word longer than a window, clipped, with its label', () => {
    const words = ['The', 'Supercalifragilisticexpialidocious', 'word'];
    const wins = encodeSentences([words], tk, { maxSeq: 6, stride: 1, labels: [[0, 1, 2]] });
    const wordsSeen = wins.flatMap((w) => [...w.wordAt].filter((x) => x >= 0));
    expect(new Set(wordsSeen)).toEqual(new Set([0, 1, 2]));
    for (const w of wins) expect(w.inputIds.length).toBeLessThanOrEqual(6);
    const clipped = wins.find((w) => w.wordAt[1] === 1)!;
    expect(clipped.labels![1]).toBe(1);
  });

  it('rejects bad options', () => {
    expect(() => encodeSentences([['a']], tk, { maxSeq: 8, labels: [[1, 2]] })).toThrow(/labels/);
    expect(() => encodeSentences([['a']], tk, { maxSeq: 2 })).toThrow(/maxSeq/);
    expect(() => encodeSentences([['a']], tk, { maxSeq: 10, stride: 8 })).toThrow(/stride/);
  });
});
