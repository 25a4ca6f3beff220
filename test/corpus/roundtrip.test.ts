/**
 * Every file of ../shared/data: the README's counts, and lossless round trips CoNLL → CoNLL,
 * CoNLL → JSONL → CoNLL (both JSONL formats) and through all three tag schemes.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  corpusStats,
  formatCorpus,
  parseCorpus,
  type Corpus,
  type ReadResult,
  type Sentence,
  type TagScheme,
} from '../../src/corpus/index.js';
import { SHARED_FILES, readShared } from './shared-data.js';

/** what the CoNLL writer normalises: whitespace-only separator lines become empty lines */
function normalised(text: string): string {
  return text.replace(/^[ \t]+$/gm, '');
}

/** the annotation a sentence carries, without layout or ids, as a string */
function content(s: Sentence): string {
  return JSON.stringify([
    s.tokens,
    s.spans.map((x) => [x.start, x.end, x.label]),
    s.columns ?? [],
    s.docStart ?? false,
  ]);
}

/** the first sentence whose annotation differs (fast on big corpora, and a readable failure) */
function difference(a: Corpus, b: Corpus): string | undefined {
  if (a.sentences.length !== b.sentences.length) return `${a.sentences.length} vs ${b.sentences.length} sentences`;
  for (let i = 0; i < a.sentences.length; i++) {
    const x = content(a.sentences[i]!);
    const y = content(b.sentences[i]!);
    if (x !== y) return `sentence ${i}: ${x} vs ${y}`;
  }
  return undefined;
}

/** the first differing line of two texts */
function firstLineDiff(a: string, b: string): string | undefined {
  if (a === b) return undefined;
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: ${JSON.stringify(x[i])} vs ${JSON.stringify(y[i])}`;
  }
  return 'texts differ';
}

// Let the worker's event loop turn between these long synchronous tests: vitest's RPC to the main process
// times out after 60 s without a turn, which a loaded 2-core machine can reach.
beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

const CHAINS: Record<'iob1' | 'iob2', TagScheme[]> = {
  iob1: ['iob2', 'bioes', 'iob1'],
  iob2: ['bioes', 'iob1', 'iob2'],
};

describe.each(SHARED_FILES)('$name', (f) => {
  const text = readShared(f.name);
  let read: ReadResult | undefined;
  const original = (): ReadResult => (read ??= parseCorpus(text, f.name));

  it('has the README counts, its scheme detected, and nothing to repair', () => {
    const r = original();
    expect(r.format).toBe('conll');
    expect(r.scheme).toBe(f.scheme);
    expect(r.repairs).toEqual([]);
    const st = corpusStats(r.corpus);
    expect([st.sentences, st.tokens, st.entities]).toEqual([f.sentences, f.tokens, f.entities]);
    if (f.types) expect(st.types).toEqual(f.types);
    // CoNLL-2003 has 946 / 216 / 231 documents (the IOB1 files mark them)
    expect(st.documents).toBe(
      f.name.startsWith('conll2003-iob1/') ? { 14041: 946, 3250: 216, 3453: 231 }[f.sentences] : 0,
    );
    expect(r.corpus.layout?.delimiter).toBe(f.delimiter);
  });

  it('CoNLL -> CoNLL is byte-identical (whitespace-only separator lines written empty)', () => {
    const out = formatCorpus(original().corpus, { format: 'conll', scheme: f.scheme });
    expect(firstLineDiff(out, normalised(text))).toBeUndefined();
  });

  // each step is its own test: big synchronous steps would starve vitest's worker RPC on a loaded machine
  for (const via of ['tokens-jsonl', 'jsonl'] as const) {
    let back: ReadResult | undefined;
    it(`CoNLL -> ${via} keeps every token, tag, column and document boundary`, () => {
      const r = original();
      const jsonl = formatCorpus(r.corpus, { format: via, scheme: f.scheme });
      back = parseCorpus(jsonl, `x.${via}`, { format: via });
      expect(back.repairs).toEqual([]);
      expect(difference(back.corpus, r.corpus)).toBeUndefined();
    });
    it(`${via} -> CoNLL gives the same bytes with the file's layout`, () => {
      // layout = delimiter, the -DOCSTART- line as spelled, a trailing -DOCSTART-: no annotation
      const conll = formatCorpus(
        { ...back!.corpus, layout: original().corpus.layout! },
        { format: 'conll', scheme: f.scheme },
      );
      expect(firstLineDiff(conll, normalised(text))).toBeUndefined();
      // without it: the delimiter given, canonical -DOCSTART- lines, no empty last document
      const plain = formatCorpus(back!.corpus, { format: 'conll', scheme: f.scheme, delimiter: f.delimiter });
      const expected = normalised(text)
        .replace(/^-DOCSTART-[^\n]*\n?$(?![\s\S])/m, '')
        .replace(/^-DOCSTART-.*$/gm, '-DOCSTART- -X- -X- O');
      expect(firstLineDiff(plain, expected)).toBeUndefined();
    });
  }

  let cur: ReadResult | undefined;
  for (const to of CHAINS[f.scheme]) {
    it(`-> ${to}`, () => {
      const written = formatCorpus((cur ?? original()).corpus, { format: 'conll', scheme: to });
      cur = parseCorpus(written, f.name);
      expect(cur.scheme).toBe(to);
      expect(cur.repairs).toEqual([]);
      expect(difference(cur.corpus, original().corpus)).toBeUndefined();
    });
  }
  it(`${[f.scheme, ...CHAINS[f.scheme]].join(' -> ')} is byte-identical`, () => {
    expect(
      firstLineDiff(formatCorpus(cur!.corpus, { format: 'conll', scheme: f.scheme }), normalised(text)),
    ).toBeUndefined();
  });
});
