import { describe, expect, it } from 'vitest';
import {
  conllevalEndOfChunk,
  conllevalStartOfChunk,
  convertTags,
  decodeTags,
  detectScheme,
  parseScheme,
  spansFromTags,
  splitTag,
  tagsFromSpans,
  type Span,
  type TagScheme,
} from '../../src/corpus/index.js';

const spans = (tags: string) => spansFromTags(tags.split(' ')).map((s) => `${s.label}[${s.start},${s.end})`);
const bioes = (tags: string) => spansFromTags(tags.split(' '), 'bioes').map((s) => `${s.label}[${s.start},${s.end})`);

/**
 * conlleval's counting loop (found gold, found guessed, correct, per type), transcribed from the Perl script
 * as an independent oracle: it never builds spans, it tracks conlleval's `inCorrect` state token by token.
 */
function conllevalCounts(sentences: Array<{ gold: string[]; pred: string[] }>) {
  let lastC = 'O';
  let lastG = 'O';
  let lastCT = '';
  let lastGT = '';
  let inCorrect = false;
  let correct = 0;
  let foundC = 0;
  let foundG = 0;
  const step = (cTag: string, gTag: string) => {
    const [c, ct] = splitTag(cTag);
    const [g, gt] = splitTag(gTag);
    if (inCorrect) {
      const endC = conllevalEndOfChunk(lastC, c, lastCT, ct);
      const endG = conllevalEndOfChunk(lastG, g, lastGT, gt);
      if (endC && endG && lastGT === lastCT) {
        inCorrect = false;
        correct++;
      } else if (endC !== endG || gt !== ct) inCorrect = false;
    }
    const startC = conllevalStartOfChunk(lastC, c, lastCT, ct);
    const startG = conllevalStartOfChunk(lastG, g, lastGT, gt);
    if (startC && startG && gt === ct) inCorrect = true;
    if (startC) foundC++;
    if (startG) foundG++;
    lastC = c;
    lastG = g;
    lastCT = ct;
    lastGT = gt;
  };
  for (const s of sentences) {
    for (let i = 0; i < s.gold.length; i++) step(s.gold[i]!, s.pred[i]!);
    step('O', 'O'); // the blank line between sentences
  }
  if (inCorrect) correct++;
  return { foundC, foundG, correct };
}

/** deterministic PRNG (mulberry32) */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTags(rand: () => number, n: number, prefixes: string, types: string[]): string[] {
  return Array.from({ length: n }, () => {
    if (rand() < 0.35) return 'O';
    const p = prefixes[Math.floor(rand() * prefixes.length)]!;
    return `${p}-${types[Math.floor(rand() * types.length)]!}`;
  });
}

const key = (s: Span) => `${s.start},${s.end},${s.label}`;

describe('splitTag (conlleval)', () => {
  it('splits at the first hyphen, keeps hyphens in types, and reads type "0" as empty like Perl', () => {
    expect(splitTag('B-creative-work')).toEqual(['B', 'creative-work']);
    expect(splitTag('O')).toEqual(['O', '']);
    expect(splitTag('PER')).toEqual(['PER', '']);
    expect(splitTag('B-')).toEqual(['B', '']);
    expect(splitTag('B-0')).toEqual(['B', '']);
  });
});

describe('spansFromTags: conlleval chunk rules', () => {
  it('reads IOB2', () => {
    expect(spans('B-PER I-PER O B-LOC')).toEqual(['PER[0,2)', 'LOC[3,4)']);
    expect(spans('B-PER B-PER')).toEqual(['PER[0,1)', 'PER[1,2)']);
  });
  it('an I- at the sentence start or after O starts an entity', () => {
    expect(spans('I-PER I-PER O I-LOC')).toEqual(['PER[0,2)', 'LOC[3,4)']);
  });
  it('a type change inside a run starts a new entity', () => {
    expect(spans('B-PER I-PER I-LOC I-LOC')).toEqual(['PER[0,2)', 'LOC[2,4)']);
    expect(spans('B-PER I-LOC')).toEqual(['PER[0,1)', 'LOC[1,2)']);
    expect(spans('I-PER B-LOC I-PER')).toEqual(['PER[0,1)', 'LOC[1,2)', 'PER[2,3)']);
  });
  it('reads IOB1: B- separates touching entities of one type', () => {
    expect(spans('I-PER I-PER B-PER O I-ORG')).toEqual(['PER[0,2)', 'PER[2,3)', 'ORG[4,5)']);
  });
  it('handles E- as conlleval does (IOE end tag): E-E and E-I split, O-E starts', () => {
    expect(spans('I-X E-X I-X E-X')).toEqual(['X[0,2)', 'X[2,4)']);
    expect(spans('E-X E-X')).toEqual(['X[0,1)', 'X[1,2)']);
    expect(spans('O E-X O')).toEqual(['X[1,2)']);
    expect(spans('B-X E-X')).toEqual(['X[0,2)']);
  });
  it('has no rule for S- and none for E- before B-: touching same-type BIOES entities merge, as in conlleval', () => {
    expect(spans('S-X S-X')).toEqual(['X[0,2)']);
    expect(spans('B-X E-X B-X E-X')).toEqual(['X[0,4)']);
    expect(spans('S-X S-Y O S-X')).toEqual(['X[0,1)', 'Y[1,2)', 'X[3,4)']);
  });
  it('every chunk ends at the sentence end', () => {
    expect(spans('O B-X I-X')).toEqual(['X[1,3)']);
    expect(spansFromTags([])).toEqual([]);
  });
  it('decodes BIOES as BIOES when told the scheme', () => {
    expect(bioes('S-X S-X')).toEqual(['X[0,1)', 'X[1,2)']);
    expect(bioes('B-X E-X B-X E-X')).toEqual(['X[0,2)', 'X[2,4)']);
    expect(bioes('B-X I-X E-X S-X O')).toEqual(['X[0,3)', 'X[3,4)']);
    // invalid BIOES is read the conlleval way
    expect(bioes('O I-X E-X')).toEqual(['X[1,3)']);
    expect(bioes('E-X O')).toEqual(['X[0,1)']);
    expect(bioes('B-X O')).toEqual(['X[0,1)']);
    expect(bioes('B-X I-Y E-Y')).toEqual(['X[0,1)', 'Y[1,3)']);
  });
  it('gives the same spans in both modes on tags without E-/S-', () => {
    const rand = rng(7);
    for (let k = 0; k < 2000; k++) {
      const tags = randomTags(rand, 1 + Math.floor(rand() * 12), 'BI', ['X', 'Y']);
      expect(spansFromTags(tags, 'bioes')).toEqual(spansFromTags(tags));
    }
  });
});

describe('spansFromTags agrees with conlleval counting', () => {
  // random gold/pred pairs over B/I/E/S/O with 1-3 types: found and correct counts from span sets must equal
  // the counts of conlleval's own token-by-token loop
  for (const prefixes of ['BI', 'BIES']) {
    it(`on 3,000 random sentence pairs with ${prefixes} tags`, () => {
      const rand = rng(prefixes.length);
      const sentences = Array.from({ length: 3000 }, () => {
        const n = 1 + Math.floor(rand() * 10);
        const types = ['A', 'B-C', 'D'].slice(0, 1 + Math.floor(rand() * 3));
        const gold = randomTags(rand, n, prefixes, types);
        const pred = rand() < 0.3 ? [...gold] : randomTags(rand, n, prefixes, types);
        if (rand() < 0.3) pred[Math.floor(rand() * n)] = gold[Math.floor(rand() * n)]!;
        return { gold, pred };
      });
      let foundC = 0;
      let foundG = 0;
      let correct = 0;
      for (const s of sentences) {
        const g = spansFromTags(s.gold);
        const p = new Set(spansFromTags(s.pred).map(key));
        foundC += g.length;
        foundG += p.size;
        correct += g.filter((x) => p.has(key(x))).length;
      }
      expect({ foundC, foundG, correct }).toEqual(conllevalCounts(sentences));
    });
  }
});

describe('tagsFromSpans', () => {
  const s: Span[] = [
    { start: 0, end: 2, label: 'PER' },
    { start: 2, end: 3, label: 'PER' },
    { start: 4, end: 5, label: 'LOC' },
    { start: 5, end: 8, label: 'ORG' },
  ];
  it('writes IOB2, IOB1 and BIOES', () => {
    expect(tagsFromSpans(8, s, 'iob2').join(' ')).toBe('B-PER I-PER B-PER O B-LOC B-ORG I-ORG I-ORG');
    expect(tagsFromSpans(8, s, 'iob1').join(' ')).toBe('I-PER I-PER B-PER O I-LOC I-ORG I-ORG I-ORG');
    expect(tagsFromSpans(8, s, 'bioes').join(' ')).toBe('B-PER E-PER S-PER O S-LOC B-ORG I-ORG E-ORG');
  });
  it('accepts unsorted spans and refuses overlapping or out-of-range ones', () => {
    expect(tagsFromSpans(3, [s[1]!, s[0]!], 'iob2').join(' ')).toBe('B-PER I-PER B-PER');
    expect(() =>
      tagsFromSpans(
        3,
        [
          { start: 0, end: 2, label: 'X' },
          { start: 1, end: 3, label: 'Y' },
        ],
        'iob2',
      ),
    ).toThrow(/overlap/);
    expect(() => tagsFromSpans(2, [{ start: 1, end: 3, label: 'X' }], 'iob2')).toThrow(/outside/);
    expect(() => tagsFromSpans(2, [{ start: 1, end: 1, label: 'X' }], 'iob2')).toThrow(/outside/);
  });
  it('round-trips random spans through every scheme and back', () => {
    const rand = rng(99);
    const schemes: TagScheme[] = ['iob1', 'iob2', 'bioes'];
    for (let k = 0; k < 500; k++) {
      const n = 1 + Math.floor(rand() * 15);
      const sp: Span[] = [];
      for (let i = 0; i < n; ) {
        if (rand() < 0.5) {
          i++;
          continue;
        }
        const len = 1 + Math.floor(rand() * 3);
        if (i + len > n) break;
        sp.push({ start: i, end: i + len, label: rand() < 0.5 ? 'X' : 'Y' });
        i += len;
      }
      for (const from of schemes) {
        const tags = tagsFromSpans(n, sp, from);
        expect(spansFromTags(tags, from)).toEqual(sp);
        expect(decodeTags(tags, from).fixes).toEqual([]);
        for (const to of schemes) expect(convertTags(convertTags(tags, from, to), to, from)).toEqual(tags);
      }
      // IOB1 and IOB2 tags are exactly what conlleval reads
      expect(spansFromTags(tagsFromSpans(n, sp, 'iob1'))).toEqual(sp);
      expect(spansFromTags(tagsFromSpans(n, sp, 'iob2'))).toEqual(sp);
    }
  });
});

describe('decodeTags: repairs', () => {
  it('lists tags a scheme would write differently, keeping conlleval spans', () => {
    const r = decodeTags('O I-PER I-PER I-LOC'.split(' '), 'iob2');
    expect(r.spans.map(key)).toEqual(['1,3,PER', '3,4,LOC']);
    expect(r.fixes).toEqual([
      { index: 1, from: 'I-PER', to: 'B-PER' },
      { index: 3, from: 'I-LOC', to: 'B-LOC' },
    ]);
    expect(decodeTags('O B-PER'.split(' '), 'iob1').fixes).toEqual([{ index: 1, from: 'B-PER', to: 'I-PER' }]);
    expect(decodeTags('B-X O I-X'.split(' '), 'bioes').fixes.map((f) => f.to)).toEqual(['S-X', 'S-X']);
  });
});

describe('detectScheme', () => {
  it('tells the schemes apart', () => {
    expect(detectScheme([['B-X', 'I-X', 'O']])).toBe('iob2');
    expect(detectScheme([['I-X', 'I-X', 'B-X']])).toBe('iob1');
    expect(detectScheme([['B-X', 'E-X'], ['O']])).toBe('bioes');
    expect(detectScheme([['O', 'S-X']])).toBe('bioes');
    expect(detectScheme([['O']])).toBe('iob2');
    expect(detectScheme([])).toBe('iob2');
    // mostly IOB2 with one stray I- after O: still IOB2 (the stray tag is then a repair)
    expect(detectScheme([['B-X'], ['B-Y', 'I-Y'], ['O', 'I-X']])).toBe('iob2');
  });
  it('parses scheme names and aliases', () => {
    expect(parseScheme('BIO')).toBe('iob2');
    expect(parseScheme('iobes')).toBe('bioes');
    expect(parseScheme('IOB1')).toBe('iob1');
    expect(parseScheme('bilou')).toBeUndefined();
  });
});
