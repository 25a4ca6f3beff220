import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { corpusStats, formatCorpus, formatStats, parseCorpus, type ReadOptions } from '../../src/corpus/index.js';

function fails(text: string, opts: ReadOptions = {}, file = 'in.conll'): InputError {
  try {
    parseCorpus(text, file, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const spansOf = (text: string, opts: ReadOptions = {}) =>
  parseCorpus(text, 'x.conll', opts).corpus.sentences.map((s) => s.spans.map((x) => `${x.label}[${x.start},${x.end})`));

const FOUR =
  'EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n';

describe('CoNLL reading', () => {
  it('reads tokens, the last column as tags, and keeps the other columns', () => {
    const r = parseCorpus(FOUR, 'f.txt');
    expect(r.format).toBe('conll');
    expect(r.scheme).toBe('iob2');
    const [a, b] = r.corpus.sentences;
    expect(a!.tokens).toEqual(['EU', 'rejects', 'German']);
    expect(a!.columns).toEqual([
      ['NNP', 'VBZ', 'JJ'],
      ['B-NP', 'B-VP', 'B-NP'],
    ]);
    expect(a!.spans).toEqual([
      { start: 0, end: 1, label: 'ORG' },
      { start: 2, end: 3, label: 'MISC' },
    ]);
    expect(b!.line).toBe(5);
    expect(b!.id).toBe('f.txt:5');
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe(FOUR);
  });
  it('tolerates CRLF, a BOM, several blank or whitespace-only lines, trailing white space and no final newline', () => {
    const messy =
      '\uFEFF' +
      FOUR.replace(/\n/g, '\r\n').replace('German JJ B-NP B-MISC', 'German JJ  B-NP\tB-MISC  ').replace(/\r\n$/, '') +
      '\r\n \t\r\n\r\n';
    const r = parseCorpus(messy, 'm.txt');
    expect(r.corpus.sentences.map((s) => s.tokens.length)).toEqual([3, 2]);
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe(FOUR);
    expect(corpusStats(parseCorpus('a O\nb B-X', 'n.txt').corpus).entities).toBe(1);
  });
  it('splits tab-separated files on tabs only, so tokens may hold spaces and U+FEFF', () => {
    const r = parseCorpus('New York\tB-LOC\nx\uFEFF\tO\n\n', 't.tsv');
    expect(r.corpus.sentences[0]!.tokens).toEqual(['New York', 'x\uFEFF']);
    expect(r.corpus.layout?.delimiter).toBe('\t');
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe('New York\tB-LOC\nx\uFEFF\tO\n\n');
    // a space delimiter cannot hold that token
    expect(() => formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2', delimiter: ' ' })).toThrow(
      /contains white space/,
    );
  });
  it('keeps -DOCSTART- lines as document boundaries, wherever they are', () => {
    const text = '-DOCSTART- -X- -X- O\n\nA B-X\n\nB O\n-DOCSTART- -X- -X- O\nC B-Y\n\n-DOCSTART- -X- -X- O\n';
    const r = parseCorpus(text, 'd.txt');
    expect(r.corpus.sentences.map((s) => [s.tokens.join(' '), s.docStart ?? false])).toEqual([
      ['A', true],
      ['B', false],
      ['C', true],
    ]);
    expect(corpusStats(r.corpus).documents).toBe(2);
    expect(r.corpus.layout?.trailingDocStart).toBe('-DOCSTART- -X- -X- O\n');
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe(
      '-DOCSTART- -X- -X- O\n\nA B-X\n\nB O\n\n-DOCSTART- -X- -X- O\n\nC B-Y\n\n-DOCSTART- -X- -X- O\n',
    );
  });
  it('takes the delimiter from the first token line, not from a -DOCSTART- line', () => {
    const r = parseCorpus('-DOCSTART- O\n\nNew York\tB-LOC\n\n', 't.tsv');
    expect(r.corpus.sentences[0]!.tokens).toEqual(['New York']);
    expect(r.corpus.layout?.delimiter).toBe('\t');
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe('-DOCSTART- O\n\nNew York\tB-LOC\n\n');
    // a token that merely begins with -DOCSTART- is a token
    expect(parseCorpus('-DOCSTART-x O\n', 'd').corpus.sentences[0]!.tokens).toEqual(['-DOCSTART-x']);
  });
  it('reads the tag from any column (1-based, negative from the end) and writes it back there', () => {
    const text = 'Paris B-LOC NNP\nis O VBZ\n\n';
    const r = parseCorpus(text, 'c.txt', { tagColumn: 2 });
    expect(r.corpus.sentences[0]!.spans).toEqual([{ start: 0, end: 1, label: 'LOC' }]);
    expect(r.corpus.sentences[0]!.columns).toEqual([['NNP', 'VBZ']]);
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe(text);
    expect(spansOf(text, { tagColumn: -2 })).toEqual([['LOC[0,1)']]);
    expect(fails(text, { tagColumn: 5 }).format()).toMatch(/^in\.conll:1: tag column 5 does not exist here/);
  });
  it('reads a one-column file as tokens without entities', () => {
    const r = parseCorpus('Hello\nworld\n\nBye\n', 'u.txt');
    expect(r.corpus.sentences.map((s) => s.tokens)).toEqual([['Hello', 'world'], ['Bye']]);
    expect(r.corpus.sentences.every((s) => s.spans.length === 0)).toBe(true);
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe('Hello\nworld\n\nBye\n\n');
    expect(fails('Hello\nworld O\n').format()).toMatch(
      /^in\.conll:2: this line has 2 columns but the file has one column/,
    );
  });
  it('detects IOB1 and BIOES files', () => {
    expect(parseCorpus('A I-X\nB B-X\n\n', 'a').scheme).toBe('iob1');
    const b = parseCorpus('A B-X\nB E-X\nC S-X\n\n', 'b');
    expect(b.scheme).toBe('bioes');
    expect(b.corpus.sentences[0]!.spans.map((x) => [x.start, x.end])).toEqual([
      [0, 2],
      [2, 3],
    ]);
  });
  it('reads BILOU (BILUO) tags as BIOES', () => {
    const r = parseCorpus('New B-LOC\nYork L-LOC\nis O\nBig U-ORG\n\n', 'b.txt');
    expect(r.scheme).toBe('bioes');
    expect(r.repairs).toEqual([]);
    expect(r.corpus.sentences[0]!.spans.map((x) => `${x.label}[${x.start},${x.end})`)).toEqual([
      'LOC[0,2)',
      'ORG[3,4)',
    ]);
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'bioes' })).toBe(
      'New B-LOC\nYork E-LOC\nis O\nBig S-ORG\n\n',
    );
    expect(parseCorpus('a U-X\nb L-X\n', 'b.txt').repairs.map((x) => `${x.from}->${x.to}`)).toEqual(['L-X->S-X']);
    expect(fails('a U-X\n', { scheme: 'iob2' }).message).toMatch(/U- is a BILOU tag but the scheme is IOB2/);
  });
  it('refuses malformed lines, naming file, line and column', () => {
    expect(fails('a O\nb\n').format()).toBe(
      'in.conll:2: expected a token and a tag separated by spaces, found one column',
    );
    expect(fails('a X O\nb O\n').format()).toBe(
      'in.conll:2: this line has 2 columns but the sentence that starts on line 1 has 3',
    );
    expect(fails('a O\n  O\n').format()).toBe('in.conll:2:1: empty token (the line starts with white space)');
    expect(fails('a\tO\nb\t\tO\n').format()).toBe('in.conll:2:3: empty value in column 2');
    expect(fails('a O\nb B-\n').format()).toBe('in.conll:2:3: bad tag "B-": the entity type is empty');
    expect(fails('a O\nbb  B_PER\n').format()).toBe(
      'in.conll:2:5: bad tag "B_PER": expected O or B-/I-/E-/S- followed by a type',
    );
    expect(fails('a S-PER\n', { scheme: 'iob2' }).format()).toMatch(
      /^in\.conll:1:3: bad tag "S-PER": S- is a BIOES tag but the scheme is IOB2/,
    );
    expect(fails('a O\nb X-PER\n').format()).toMatch(/^in\.conll:2:3: bad tag "X-PER"/);
  });
  it('repairs tags a scheme would not write (lenient) and refuses them in strict mode', () => {
    // four entities begin with B-, three with I-: IOB2 (detected), with three repairs
    const text = 'a B-X\nb O\nc I-X\nd I-Y\n\ne B-Z\n\nf B-W\n\ng B-V\n\nh I-U\n\n';
    const r = parseCorpus(text, 'r.txt');
    expect(r.scheme).toBe('iob2');
    expect(r.repairs.map((x) => `${x.line}:${x.column} ${x.from}->${x.to}`)).toEqual([
      '3:3 I-X->B-X',
      '4:3 I-Y->B-Y',
      '12:3 I-U->B-U',
    ]);
    expect(r.repairs[0]!.message).toBe('tag I-X after O is not valid IOB2; read as B-X');
    // the spans are conlleval's either way
    expect(r.corpus.sentences[0]!.spans.map((x) => `${x.label}[${x.start},${x.end})`)).toEqual([
      'X[0,1)',
      'X[2,3)',
      'Y[3,4)',
    ]);
    expect(formatCorpus(r.corpus, { format: 'conll', scheme: 'iob2' })).toBe(text.replace(/I-/g, 'B-'));
    expect(fails(text, { strict: true }, 'r.txt').format()).toBe(
      'r.txt:3:3: tag I-X after O is not valid IOB2; read as B-X (refused in strict mode)',
    );
    // IOB1 B- that does not follow a same-type entity; BIOES B- alone
    expect(parseCorpus('a O\nb B-X\n\n', 'x', { scheme: 'iob1' }).repairs.map((x) => x.to)).toEqual(['I-X']);
    expect(parseCorpus('a B-X\nb O\n\n', 'x', { scheme: 'bioes' }).repairs.map((x) => x.to)).toEqual(['S-X']);
  });
});

describe('tags as written', () => {
  it('are kept on request (CoNLL and token JSONL), repairs and all', () => {
    const c = parseCorpus('a O\nb I-X\n\n', 'w.conll', { keepWrittenTags: true, scheme: 'iob2' });
    expect(c.corpus.sentences[0]!.writtenTags).toEqual(['O', 'I-X']);
    expect(c.repairs).toHaveLength(1);
    const j = parseCorpus('{"tokens": ["a", "b"], "tags": ["O", "I-X"]}\n', 'w.jsonl', { keepWrittenTags: true });
    expect(j.corpus.sentences[0]!.writtenTags).toEqual(['O', 'I-X']);
    expect(parseCorpus('a O\n', 'w.conll').corpus.sentences[0]!.writtenTags).toBeUndefined();
  });
});

describe('stats', () => {
  it('count an empty corpus as zeros', () => {
    const st = corpusStats(parseCorpus('', 'e.conll').corpus);
    expect([st.sentences, st.tokens, st.entities, st.lengthHistogram.length]).toEqual([0, 0, 0, 0]);
    expect(formatStats(st)).toMatch(/^sentences\s+0\n/);
  });
});

describe('format detection', () => {
  it('tells CoNLL, JSONL and token JSONL apart by content', () => {
    expect(parseCorpus('{"text": "a"}\n', 'x.txt').format).toBe('jsonl');
    expect(parseCorpus('\n{"tokens": ["a"]}\n', 'x.conll').format).toBe('tokens-jsonl');
    expect(parseCorpus('a O\n', 'x.jsonl').format).toBe('conll');
    // a CoNLL file may begin with the token "{"; a .jsonl file that does is a bad JSON line
    expect(parseCorpus('{\tO\n}\tO\n', 'x.conll').corpus.sentences[0]!.tokens).toEqual(['{', '}']);
    expect(fails('{"text": "a",\n', {}, 'b.jsonl').format()).toMatch(/^b\.jsonl:1(:\d+)?: bad JSON/);
    expect(parseCorpus('', 'x.jsonl').corpus.sentences).toEqual([]);
    expect(fails('{"words": ["a"]}\n').format()).toMatch(/^in\.conll:1: a JSONL corpus line needs "text"/);
  });
});
