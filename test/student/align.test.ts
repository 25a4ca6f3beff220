import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { alignWords, argmaxLabels, planWindows, wordLabels, wordLogits, IGNORE_LABEL } from '../../src/student/align.js';

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

describe('alignWords', () => {
  let tk: Tokenizer;
  let sentences: Array<{ words: string[]; tags: string[] }>;
  const labelIds = new Map<string, number>();
  beforeAll(async () => {
    tk = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'));
    sentences = conll(path.join(DATA, 'conll2003/dev.txt'));
    for (const s of sentences) for (const t of s.tags) if (!labelIds.has(t)) labelIds.set(t, labelIds.size);
  });

  it('encodes CoNLL sentences exactly as the tokenizer encodes the joined text, labels on first sub-words', () => {
    for (const { words, tags } of sentences.slice(0, 800)) {
      const labels = tags.map((t) => labelIds.get(t)!);
      const a = alignWords(tk, words, labels);
      expect(a.windows).toHaveLength(1);
      const win = a.windows[0]!;
      expect([...win.inputIds]).toEqual(tk.encode(words.join(' ')).ids);
      expect(win.wordIndex[0]).toBe(-1);
      expect(win.wordIndex[win.wordIndex.length - 1]).toBe(-1);
      const labelled = [...win.labels!].map((l, pos) => [l, pos] as const).filter(([l]) => l !== IGNORE_LABEL);
      // one label per word, at the word's first sub-word, in order
      expect(labelled.map(([l]) => l)).toEqual(labels);
      labelled.forEach(([, pos], w) => {
        expect(win.wordIndex[pos]).toBe(w);
        expect(win.wordIndex[pos - 1]).not.toBe(w);
      });
      // sub-word character offsets lie inside their word
      for (let pos = 1; pos < win.inputIds.length - 1; pos++) {
        const word = words[win.wordIndex[pos]!]!;
        const piece = tk.idToken(win.inputIds[pos]!).replace(/^##/, '');
        if (piece !== '[UNK]') expect(word.slice(win.charStart[pos], win.charEnd[pos])).toBe(piece);
      }
    }
  });

  it('gives a word of only control characters one [UNK] carrying its label', () => {
    const a = alignWords(tk, ['Paris', '\uFEFF', 'x\u200B', '\u200B'], [1, 2, 3, 4]);
    const win = a.windows[0]!;
    expect([...win.inputIds]).toEqual([tk.clsId, tk.tokenId('Paris'), tk.unkId, tk.tokenId('x'), tk.unkId, tk.sepId]);
    expect([...win.labels!]).toEqual([IGNORE_LABEL, 1, 2, 3, 4, IGNORE_LABEL]);
    expect(a.emptyWords).toEqual([1, 3]);
    const logits = new Float32Array(win.inputIds.length * 5);
    for (let pos = 1; pos < win.inputIds.length - 1; pos++) logits[pos * 5 + win.labels![pos]!] = 1;
    expect([...wordLabels(a, [logits], 5)]).toEqual([1, 2, 3, 4]);
  });

  it('handles an empty sentence', () => {
    const a = alignWords(tk, [], []);
    expect(a.windows).toHaveLength(1);
    expect([...a.windows[0]!.inputIds]).toEqual([tk.clsId, tk.sepId]);
    expect(wordLogits(a, [new Float32Array(2 * 3)], 3)).toHaveLength(0);
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

  it('splits long sentences into windows and stitches predictions back (round trip)', () => {
    const L = 9;
    const long = sentences.filter((s) => s.words.length >= 30).slice(0, 40);
    expect(long.length).toBe(40);
    for (const { words, tags } of long) {
      for (const [maxLength, stride] of [
        [16, 4],
        [24, 11],
        [12, 0],
      ] as const) {
        const labels = tags.map((t) => labelIds.get(t)!);
        const a = alignWords(tk, words, labels, { maxLength, stride });
        expect(a.windows.length).toBeGreaterThan(1);
        for (const win of a.windows) {
          expect(win.inputIds.length).toBeLessThanOrEqual(maxLength);
          expect(win.inputIds[0]).toBe(tk.clsId);
          expect(win.inputIds[win.inputIds.length - 1]).toBe(tk.sepId);
        }
        // every window's body is a contiguous slice of the whole sentence's sub-words
        const full = tk.encode(words.join(' ')).ids.slice(1, -1);
        const whole = alignWords(tk, words, labels, { maxLength: 4096 }).windows[0]!;
        for (const win of a.windows) {
          const firstPos = whole.wordIndex.indexOf(win.wordStart);
          expect([...win.inputIds.slice(1, -1)]).toEqual(full.slice(firstPos - 1, firstPos - 1 + win.inputIds.length - 2));
        }
        // logits that say "label = the word's label" at first sub-words, plus the window index in a last column
        const logits = a.windows.map((win, wi) => {
          const out = new Float32Array(win.inputIds.length * (L + 1));
          for (let pos = 0; pos < win.inputIds.length; pos++) {
            if (win.labels![pos] !== IGNORE_LABEL) out[pos * (L + 1) + win.labels![pos]!] = 10;
            out[pos * (L + 1) + L] = wi / 100; // which window the value came from
          }
          return out;
        });
        const wl = wordLogits(a, logits, L + 1);
        expect([...argmaxLabels(wl, L + 1)]).toEqual(labels);
        // each word took the window where it is most central (brute force)
        for (let w = 0; w < words.length; w++) {
          let bestWin = -1;
          let bestScore = -1;
          a.windows.forEach((win, wi) => {
            if (w < win.wordStart || w >= win.wordEnd) return;
            const positions = [...win.wordIndex].map((x, p) => [x, p] as const).filter(([x]) => x === w).map(([, p]) => p);
            const body = win.inputIds.length - 2;
            const left = win.wordStart > 0 ? positions[0]! - 1 : Infinity;
            const right = win.wordEnd < words.length ? body - positions[positions.length - 1]! : Infinity;
            const score = Math.min(left, right, 1e9);
            if (score > bestScore) [bestScore, bestWin] = [score, wi];
          });
          expect(Math.round(wl[w * (L + 1) + L]! * 100)).toBe(bestWin);
        }
      }
    }
  });

  it('keeps a word longer than a window, clipped, with its label', () => {
    const words = ['The', 'Supercalifragilisticexpialidocious', 'word'];
    const a = alignWords(tk, words, [0, 1, 2], { maxLength: 6, stride: 1 });
    expect(a.clippedWords).toEqual([1]);
    const wordsSeen = a.windows.flatMap((w) => [...w.wordIndex].filter((x) => x >= 0));
    expect(new Set(wordsSeen)).toEqual(new Set([0, 1, 2]));
    for (const w of a.windows) expect(w.inputIds.length).toBeLessThanOrEqual(6);
  });

  it('reads windows out of a padded batch with offsets', () => {
    const words = sentences.find((s) => s.words.length > 20)!.words;
    const a = alignWords(tk, words, undefined, { maxLength: 12, stride: 3 });
    const L = 3;
    const seq = 12;
    const batch = new Float32Array(a.windows.length * seq * L);
    a.windows.forEach((win, wi) => {
      for (let pos = 0; pos < win.inputIds.length; pos++) batch[(wi * seq + pos) * L + (win.wordIndex[pos]! % L + L) % L] = 1;
    });
    const got = wordLabels(a, a.windows.map(() => batch), L, a.windows.map((_, wi) => wi * seq * L));
    expect([...got]).toEqual(words.map((_, w) => w % L));
    expect(a.windows[0]!.labels).toBeUndefined();
  });

  it('rejects bad options', () => {
    expect(() => alignWords(tk, ['a'], [1, 2])).toThrow(/labels/);
    expect(() => alignWords(tk, ['a'], undefined, { maxLength: 2 })).toThrow(/maxLength/);
    expect(() => alignWords(tk, ['a'], undefined, { maxLength: 10, stride: 8 })).toThrow(/stride/);
  });
});
