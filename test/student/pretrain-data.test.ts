/** Whole-word masking (15%, 80/10/10, fresh each epoch, seeded) and telling plain text from CoNLL. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EncodedWindow } from '../../src/student/align.js';
import { collateMasked, detectTextFormat, maskWindow, readTextFile } from '../../src/student/pretrain-data.js';
import { splitWords } from '../../src/student/predict.js';

const MASK = 103;
const opts = { maskId: MASK, vocabSize: 1000, seed: 7 };
/** a window of `words` words, word w having (w % 3) + 1 sub-words with ids ≥ 200 */
function window(words: number): EncodedWindow {
  const ids = [101];
  const wordAt = [-1];
  for (let w = 0; w < words; w++) {
    for (let k = 0; k <= w % 3; k++) {
      ids.push(200 + ids.length);
      wordAt.push(k === 0 ? w : -1);
    }
  }
  ids.push(102);
  wordAt.push(-1);
  return {
    inputIds: Int32Array.from(ids),
    wordAt: Int32Array.from(wordAt),
    sentence: 0,
    window: 0,
    firstWord: 0,
    endWord: words,
  };
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-ptdata-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('whole-word masking', () => {
  it('masks whole words, ~15% of sub-words, 80% [MASK] / 10% random / 10% kept, never [CLS]/[SEP]', () => {
    const win = window(30);
    let chosen = 0;
    let total = 0;
    const kinds = { mask: 0, random: 0, kept: 0 };
    for (let i = 0; i < 400; i++) {
      const m = maskWindow(win, 0, i, opts);
      chosen += m.positions.length;
      total += win.inputIds.length - 2;
      expect(m.positions.length).toBeGreaterThan(0);
      const set = new Set(m.positions);
      for (const [k, t] of m.positions.entries()) {
        expect(t).toBeGreaterThan(0);
        expect(t).toBeLessThan(win.inputIds.length - 1);
        expect(m.labels[k]).toBe(win.inputIds[t]);
        // whole words: the word's first sub-word and all its continuations are chosen together
        let a = t;
        while (win.wordAt[a]! < 0) a--;
        for (let u = a; u < win.inputIds.length - 1 && (u === a || win.wordAt[u]! < 0); u++)
          expect(set.has(u)).toBe(true);
        if (m.ids[t] === MASK) kinds.mask++;
        else if (m.ids[t] === win.inputIds[t]) kinds.kept++;
        else kinds.random++;
      }
      for (let t = 0; t < win.inputIds.length; t++) if (!set.has(t)) expect(m.ids[t]).toBe(win.inputIds[t]);
    }
    expect(chosen / total).toBeGreaterThan(0.12);
    expect(chosen / total).toBeLessThan(0.16);
    expect(kinds.mask / chosen).toBeGreaterThan(0.77);
    expect(kinds.mask / chosen).toBeLessThan(0.83);
    expect(kinds.random / chosen).toBeGreaterThan(0.08);
    expect(kinds.kept / chosen).toBeGreaterThan(0.08);
  });

  it('draws masks afresh each epoch, the same for the same (seed, epoch, example)', () => {
    const win = window(40);
    const a = maskWindow(win, 0, 3, opts);
    expect(maskWindow(win, 0, 3, opts)).toEqual(a);
    expect(maskWindow(win, 1, 3, opts).positions).not.toEqual(a.positions);
    expect(maskWindow(win, 0, 3, { ...opts, seed: 8 }).positions).not.toEqual(a.positions);
  });

  it('collates flat masked positions into the padded batch', () => {
    const wins = [window(3), window(8)];
    const b = collateMasked(wins, [0, 1], 0, 0, opts);
    expect(b.seqLen).toBe(wins[1]!.inputIds.length);
    for (const [k, p] of b.maskedPositions.entries()) {
      const row = Math.floor(p / b.seqLen);
      expect(wins[row]!.inputIds[p % b.seqLen]).toBe(b.maskedLabels[k]);
      expect(b.attentionMask[p]).toBe(1);
    }
  });
});

describe('text files', () => {
  it('tells CoNLL from plain text and JSONL, and reads each as sentences of words', () => {
    const conll = '-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n';
    const text = 'EU rejects German call to boycott British lamb.\nPeter Blackburn\n\n';
    expect(detectTextFormat(conll, 'a.txt')).toBe('conll');
    expect(detectTextFormat(text, 'b.txt')).toBe('text');
    expect(detectTextFormat('{"tokens": ["a"], "tags": ["O"]}\n', 'c.jsonl')).toBe('tokens-jsonl');
    writeFileSync(path.join(tmp, 'a.txt'), conll);
    writeFileSync(path.join(tmp, 'b.txt'), text);
    expect(readTextFile(path.join(tmp, 'a.txt'), 'auto', splitWords)).toEqual([['EU', 'rejects'], ['Peter']]);
    expect(readTextFile(path.join(tmp, 'b.txt'), 'auto', splitWords)).toEqual([
      ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.'],
      ['Peter', 'Blackburn'],
    ]);
    const missing = path.join(tmp, 'missing.txt');
    expect(() => readTextFile(missing, 'auto', splitWords)).toThrow(
      expect.objectContaining({ file: missing, message: 'cannot read text: no such file' }),
    );
  });
});
