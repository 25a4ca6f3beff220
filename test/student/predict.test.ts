import { describe, expect, it } from 'vitest';
import { encodeSentences, type WordPieceLike } from '../../src/student/align.js';
import { Predictor, chunkTags, decodeWords, splitWords } from '../../src/student/predict.js';
import type { Batch } from '../../src/student/types.js';

/** toy WordPiece: a word becomes ceil(len/3) pieces; piece id = 1000 + char code of its first letter */
const toyTok: WordPieceLike = {
  clsId: 101,
  sepId: 102,
  padId: 0,
  wordIds(word: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < word.length; i += 3) out.push(1000 + word.charCodeAt(i) + (i > 0 ? 500 : 0));
    return out;
  },
};

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

/** context-free fake model: a first piece starting with an upper-case letter → B-PER, 'Z' → B-LOC, else O */
async function fakeLogits(batch: Batch): Promise<Float32Array> {
  const L = LABELS.length;
  const out = new Float32Array(batch.batchSize * batch.seqLen * L);
  for (let i = 0; i < batch.batchSize * batch.seqLen; i++) {
    const id = batch.inputIds[i]!;
    const ch = id >= 1000 && id < 1500 ? String.fromCharCode(id - 1000) : '';
    const label = ch === 'Z' ? 3 : ch >= 'A' && ch <= 'Y' ? 1 : 0;
    out[i * L + label] = 4;
  }
  return out;
}

describe('encodeSentences', () => {
  it('puts labels and weights on first sub-words only', () => {
    const [w] = encodeSentences([['Johnson', 'is', 'here']], toyTok, {
      maxSeq: 32,
      labels: [[1, 0, 0]],
      wordWeights: [[0.5, 1, 1]],
    });
    expect(Array.from(w!.inputIds)).toEqual([101, 1074, 1610, 1610, 1105, 1104, 1601, 102]);
    expect(w!.inputIds.length).toBe(2 + 3 + 1 + 2);
    expect(Array.from(w!.labels!)).toEqual([-100, 1, -100, -100, 0, 0, -100, -100]);
    expect(Array.from(w!.wordAt)).toEqual([-1, 0, -1, -1, 1, 2, -1, -1]);
    expect(w!.tokenWeights![1]).toBe(0.5);
  });

  it('splits long sentences into overlapping windows within maxSeq that cover every word', () => {
    const words = Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 'Alexandra' : 'word'));
    const wins = encodeSentences([words], toyTok, { maxSeq: 16 });
    expect(wins.length).toBeGreaterThan(5);
    for (const w of wins) expect(w.inputIds.length).toBeLessThanOrEqual(16);
    const covered = new Set(wins.flatMap((w) => Array.from(w.wordAt).filter((x) => x >= 0)));
    expect(covered.size).toBe(100);
    for (let i = 1; i < wins.length; i++) {
      expect(wins[i]!.firstWord).toBeLessThan(wins[i - 1]!.endWord); // overlap
      expect(wins[i]!.firstWord).toBeGreaterThan(wins[i - 1]!.firstWord); // progress
    }
  });

  it('handles empty sentences and over-long words', () => {
    const wins = encodeSentences([[], ['x'.repeat(100)]], toyTok, { maxSeq: 8 });
    expect(wins).toHaveLength(2);
    expect(Array.from(wins[0]!.inputIds)).toEqual([101, 102]);
    expect(wins[1]!.inputIds.length).toBe(8);
  });
});

describe('chunkTags (conlleval reading of predictions)', () => {
  it('starts chunks at B, at I after O and at I of another type', () => {
    expect(chunkTags(['B-PER', 'I-PER', 'O', 'I-LOC', 'I-LOC', 'I-PER', 'B-PER', 'B-PER'])).toEqual([
      { start: 0, end: 2, label: 'PER' },
      { start: 3, end: 5, label: 'LOC' },
      { start: 5, end: 6, label: 'PER' },
      { start: 6, end: 7, label: 'PER' },
      { start: 7, end: 8, label: 'PER' },
    ]);
    expect(chunkTags(['S-LOC', 'B-PER', 'E-PER', 'E-PER'])).toEqual([
      { start: 0, end: 1, label: 'LOC' },
      { start: 1, end: 3, label: 'PER' },
      { start: 3, end: 4, label: 'PER' },
    ]);
  });

  it('scores a span by the mean probability of its word tags', () => {
    const probs = new Float32Array([0.1, 0.9, 0, 0, 0, 0.3, 0, 0.7, 0, 0, 1, 0, 0, 0, 0]);
    const d = decodeWords(probs, 3, LABELS);
    expect(d.tags).toEqual(['B-PER', 'I-PER', 'O']);
    expect(d.spans).toHaveLength(1);
    expect(d.spans[0]!.confidence).toBeCloseTo(0.8);
  });
});

describe('BIO-constrained decoding', () => {
  it('never starts an entity with I- and prefers the best valid path', () => {
    // word 0: O likely; word 1: I-PER slightly above B-PER; word 2: I-PER
    const probs = new Float32Array([0.9, 0.05, 0.05, 0, 0, 0.1, 0.4, 0.5, 0, 0, 0.1, 0.1, 0.8, 0, 0]);
    const free = decodeWords(probs, 3, LABELS, { constrained: false });
    expect(free.tags).toEqual(['O', 'I-PER', 'I-PER']);
    const bio = decodeWords(probs, 3, LABELS);
    expect(bio.tags).toEqual(['O', 'B-PER', 'I-PER']);
    expect(bio.spans).toEqual([{ start: 1, end: 3, label: 'PER', confidence: expect.closeTo(0.6, 5) }]);
    // a type switch inside an entity is not allowed either: B-LOC I-PER becomes a valid sequence
    const sw = new Float32Array([0, 0.2, 0, 0.8, 0, 0, 0, 0.55, 0, 0.45]);
    expect(decodeWords(sw, 2, LABELS, { constrained: false }).tags).toEqual(['B-LOC', 'I-PER']);
    expect(decodeWords(sw, 2, LABELS).tags).toEqual(['B-LOC', 'I-LOC']);
    expect(decodeWords(new Float32Array(0), 0, LABELS).tags).toEqual([]);
  });
});

describe('Predictor', () => {
  it('gives the same words labels whether a long sentence fits or is windowed', async () => {
    const words = Array.from({ length: 60 }, (_, i) => ['Ann', 'met', 'Zurich', 'and', 'Bob', 'there'][i % 6]!);
    const wide = new Predictor(toyTok, LABELS, fakeLogits, { maxSeq: 512 });
    const narrow = new Predictor(toyTok, LABELS, fakeLogits, { maxSeq: 12, batchSize: 3 });
    const [a] = await wide.predictSentences([words]);
    const [b] = await narrow.predictSentences([words]);
    expect(b!.tags).toEqual(a!.tags);
    expect(a!.spans.filter((s) => s.label === 'LOC')).toHaveLength(10);
    expect(a!.spans.filter((s) => s.label === 'PER')).toHaveLength(20);
  });

  it('keeps sentence order across length-sorted batches', async () => {
    const p = new Predictor(toyTok, LABELS, fakeLogits, { maxSeq: 64, batchSize: 2 });
    const sents = [['Ann'], ['x', 'y', 'z', 'w', 'Zoe'], [], ['a', 'Bo']];
    const preds = await p.predictSentences(sents);
    expect(preds.map((x) => x.tags)).toEqual([['B-PER'], ['O', 'O', 'O', 'O', 'B-LOC'], [], ['O', 'B-PER']]);
    expect(p.types).toEqual(['LOC', 'PER']);
  });

  it('gives raw texts character offsets', async () => {
    const p = new Predictor(toyTok, LABELS, fakeLogits, { maxSeq: 64 });
    const text = 'Yes, Ann went to Zurich.';
    const [r] = await p.predictTexts([text]);
    expect(r!.tokens).toEqual(['Yes', ',', 'Ann', 'went', 'to', 'Zurich', '.']);
    const zur = r!.spans.find((s) => s.label === 'LOC')!;
    expect(text.slice(zur.charStart, zur.charEnd)).toBe('Zurich');
    expect([zur.start, zur.end]).toEqual([5, 6]);
  });

  it('splitWords separates punctuation like BERT', () => {
    expect(splitWords("U.S. isn't $5")).toEqual([
      { word: 'U', start: 0, end: 1 },
      { word: '.', start: 1, end: 2 },
      { word: 'S', start: 2, end: 3 },
      { word: '.', start: 3, end: 4 },
      { word: 'isn', start: 5, end: 8 },
      { word: "'", start: 8, end: 9 },
      { word: 't', start: 9, end: 10 },
      { word: '$', start: 11, end: 12 },
      { word: '5', start: 12, end: 13 },
    ]);
  });
});
