import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  formatCorpus,
  loadTagNames,
  parseCorpus,
  tagNamesFromText,
  tokenize,
  type ReadOptions,
} from '../../src/corpus/index.js';

const lines = (...records: unknown[]) =>
  records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

function fails(text: string, opts: ReadOptions = {}, file = 'in.jsonl'): InputError {
  try {
    parseCorpus(text, file, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const spanText = (text: string, s: { charStart?: number; charEnd?: number }) => text.slice(s.charStart, s.charEnd);

describe('tokenize', () => {
  it('splits on white space and puts every punctuation character on its own', () => {
    const t = 'Apple is buying U.K. startup for $1 billion!';
    expect(tokenize(t).map(([s, e]) => t.slice(s, e))).toEqual([
      'Apple',
      'is',
      'buying',
      'U',
      '.',
      'K',
      '.',
      'startup',
      'for',
      '$',
      '1',
      'billion',
      '!',
    ]);
  });
  it('keeps letters with combining marks, counts UTF-16 offsets, and treats U+FEFF as a character', () => {
    const t = 'Cafe\u0301 in Zürich 😀 x\uFEFF';
    const toks = tokenize(t).map(([s, e]) => t.slice(s, e));
    expect(toks).toEqual(['Cafe\u0301', 'in', 'Zürich', '😀', 'x', '\uFEFF']);
  });
});

describe('character-offset JSONL', () => {
  it('reads spaCy-style entities and maps them to token offsets, keeping character offsets', () => {
    const text = 'Apple is buying U.K. startup for $1 billion';
    const r = parseCorpus(
      lines({
        text,
        entities: [
          { start: 0, end: 5, label: 'ORG' },
          { start: 16, end: 20, label: 'GPE' },
        ],
      }),
      'a.jsonl',
    );
    expect(r.format).toBe('jsonl');
    const s = r.corpus.sentences[0]!;
    expect(s.text).toBe(text);
    expect(s.spans.map((x) => [x.start, x.end, x.label, spanText(text, x)])).toEqual([
      [0, 1, 'ORG', 'Apple'],
      [3, 7, 'GPE', 'U.K.'],
    ]);
    expect(s.id).toBe('a.jsonl:1');
  });
  it('reads Doccano labels, entity triples and Prodigy spans with Prodigy tokens', () => {
    const text = 'Ada Lovelace met Babbage';
    const doccano = parseCorpus(
      lines({
        id: 7,
        text,
        label: [
          [0, 12, 'PER'],
          [17, 24, 'PER'],
        ],
      }),
      'd.jsonl',
    );
    const triples = parseCorpus(
      lines({
        text,
        entities: [
          [17, 24, 'PER'],
          [0, 12, 'PER'],
        ],
      }),
      't.jsonl',
    );
    const prodigy = parseCorpus(
      lines({
        text,
        tokens: [
          { text: 'Ada', start: 0, end: 3, id: 0 },
          { text: 'Lovelace', start: 4, end: 12, id: 1 },
          { text: 'met', start: 13, end: 16, id: 2 },
          { text: 'Babbage', start: 17, end: 24, id: 3 },
        ],
        spans: [
          { start: 0, end: 12, token_start: 0, token_end: 1, label: 'PER' },
          { start: 17, end: 24, label: 'PER' },
        ],
      }),
      'p.jsonl',
    );
    for (const r of [doccano, triples, prodigy]) {
      expect(r.corpus.sentences[0]!.spans.map((x) => [x.start, x.end])).toEqual([
        [0, 2],
        [3, 4],
      ]);
    }
    expect(doccano.corpus.sentences[0]!.id).toBe('7');
  });
  it('uses given token strings instead of its own tokenizer', () => {
    const text = 'New York-based  firm';
    const r = parseCorpus(lines({ text, tokens: ['New', 'York-based', 'firm'], entities: [] }), 'g.jsonl');
    expect(r.corpus.sentences[0]!.tokenOffsets).toEqual([
      [0, 3],
      [4, 14],
      [16, 20],
    ]);
    const e = fails(
      lines({ text, tokens: ['New', 'York-based', 'firm'], entities: [{ start: 0, end: 8, label: 'LOC' }] }),
    );
    expect(e.format()).toMatch(/^in\.jsonl:1: entities\[0\]: end 8 of "New York" \(LOC\) is not on a token boundary/);
    expect(fails(lines({ text, tokens: ['New', 'Yrok'] })).message).toMatch(
      /tokens\[1\] "Yrok" does not match the text/,
    );
  });
  it('refuses entities off token boundaries, out of range, or overlapping, naming the line', () => {
    const ok = { text: 'Google it', entities: [] };
    expect(fails(lines(ok, { text: 'Googled it', entities: [{ start: 0, end: 6, label: 'ORG' }] })).format()).toMatch(
      /^in\.jsonl:2: entities\[0\]: end 6 of "Google" \(ORG\) is not on a token boundary; tokens there: "Googled"@0/,
    );
    expect(fails(lines({ text: 'ab', entities: [{ start: 0, end: 5, label: 'X' }] })).message).toMatch(
      /not a non-empty range inside the text/,
    );
    expect(
      fails(
        lines({
          text: 'a b',
          entities: [
            { start: 0, end: 3, label: 'X' },
            { start: 2, end: 3, label: 'Y' },
          ],
        }),
      ).message,
    ).toMatch(/overlap/);
    expect(fails(lines({ text: 'a b', entities: [{ start: 0, end: 1, label: '' }] })).message).toMatch(
      /"label" must be a non-empty string/,
    );
    expect(fails(lines({ text: 'a b', entities: [{ start: '0', end: 1, label: 'X' }] })).message).toMatch(
      /"start" must be an integer/,
    );
  });
  it('reports bad JSON and missing fields with line (and column for JSON)', () => {
    const e = fails(lines({ text: 'a' }, '{"text": "b", }'));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^bad JSON/);
    expect(e.column).toBeGreaterThan(1);
    expect(fails(lines({ text: 'a' }, { txt: 'b' })).format()).toBe('in.jsonl:2: missing field "text"');
    expect(fails(lines({ text: 'a' }, [1, 2])).message).toMatch(/expected a JSON object/);
  });
  it('drops a duplicated entity as a repair, and refuses it in strict mode', () => {
    const rec = {
      text: 'Paris',
      entities: [
        { start: 0, end: 5, label: 'LOC' },
        { start: 0, end: 5, label: 'LOC' },
      ],
    };
    const r = parseCorpus(lines(rec), 'dup.jsonl');
    expect(r.corpus.sentences[0]!.spans).toHaveLength(1);
    expect(r.repairs.map((x) => x.message)).toEqual(['duplicate entity [0, 5) "Paris" LOC dropped']);
    expect(fails(lines(rec), { strict: true }).message).toMatch(/duplicate entity .* strict/);
  });
  it('writes back the same text, offsets, ids and confidences', () => {
    const recs = [
      {
        id: 'a',
        text: '  Dr.  Smith\tvisited\nParis 😀 today.',
        entities: [
          { start: 7, end: 12, label: 'PER', confidence: 0.5 },
          { start: 21, end: 26, label: 'LOC' },
        ],
      },
      { text: 'Nothing here.', entities: [] },
    ];
    const r = parseCorpus(lines(...recs), 'w.jsonl');
    const out = formatCorpus(r.corpus, { format: 'jsonl' });
    expect(out).toBe(lines(...recs));
  });
  it('writes tokens that its tokenizer would not find (e.g. from CoNLL) so they come back as they were', () => {
    const conll = 'U.S.\tB-LOC\nDubbzM\uFEFF\tB-PER\n,\tO\n\n';
    const c = parseCorpus(conll, 'x.conll');
    const jsonl = formatCorpus(c.corpus, { format: 'jsonl' });
    expect(JSON.parse(jsonl)).toEqual({
      text: 'U.S. DubbzM\uFEFF ,',
      tokens: ['U.S.', 'DubbzM\uFEFF', ','],
      entities: [
        { start: 0, end: 4, label: 'LOC' },
        { start: 5, end: 12, label: 'PER' },
      ],
    });
    const back = parseCorpus(jsonl, 'x.jsonl');
    expect(formatCorpus(back.corpus, { format: 'conll', scheme: 'iob2', delimiter: '\t' })).toBe(conll);
  });
});

describe('token JSONL', () => {
  it('reads the Hugging Face shape with tags or ner_tags', () => {
    const r = parseCorpus(
      lines(
        { tokens: ['EU', 'rejects', 'German'], tags: ['B-ORG', 'O', 'B-MISC'] },
        { id: 'x', tokens: ['Hi'], ner_tags: ['O'] },
      ),
      'h.jsonl',
    );
    expect(r.format).toBe('tokens-jsonl');
    expect(r.scheme).toBe('iob2');
    expect(r.corpus.sentences.map((s) => s.spans.map((x) => `${x.label}[${x.start},${x.end})`))).toEqual([
      ['ORG[0,1)', 'MISC[2,3)'],
      [],
    ]);
    expect(r.corpus.sentences[1]!.id).toBe('x');
  });
  it("reads the teacher's output: token-offset entities with confidence, extra fields ignored", () => {
    const rec = {
      id: 's1',
      tokens: ['Obama', 'visited', 'Paris', 'Texas'],
      entities: [
        { start: 2, end: 3, label: 'LOC', confidence: 0.6, teacher: 'm' },
        { start: 0, end: 1, label: 'PER', confidence: 1 },
      ],
      rejected: [{ text: 'France', label: 'LOC', reason: 'not in sentence' }],
      teacher: { model: 'x', samples: 5 },
    };
    const r = parseCorpus(lines(rec), 'teacher.jsonl');
    const s = r.corpus.sentences[0]!;
    expect(s.id).toBe('s1');
    expect(s.spans).toEqual([
      { start: 0, end: 1, label: 'PER', confidence: 1 },
      { start: 2, end: 3, label: 'LOC', confidence: 0.6 },
    ]);
    const out = formatCorpus(r.corpus, { format: 'tokens-jsonl', entities: true });
    expect(JSON.parse(out)).toEqual({
      id: 's1',
      tokens: rec.tokens,
      entities: [
        { start: 0, end: 1, label: 'PER', confidence: 1 },
        { start: 2, end: 3, label: 'LOC', confidence: 0.6 },
      ],
    });
    expect(JSON.parse(formatCorpus(r.corpus, { format: 'tokens-jsonl', scheme: 'bioes' })).tags).toEqual([
      'S-PER',
      'O',
      'S-LOC',
      'O',
    ]);
  });
  it('names integer tags (Hugging Face ner_tags) with tagNames, from a list or a file', () => {
    const names = loadTagNames('O,B-PER,I-PER,B-LOC');
    const hf = lines({
      id: '0',
      tokens: ['Ada', 'Lovelace', 'in', 'London'],
      pos_tags: [1, 2, 3, 4],
      ner_tags: [1, 2, 0, 3],
    });
    const r = parseCorpus(hf, 'hf.jsonl', { tagNames: names });
    expect(r.corpus.sentences[0]!.spans.map((x) => `${x.label}[${x.start},${x.end})`)).toEqual([
      'PER[0,2)',
      'LOC[3,4)',
    ]);
    expect(fails(lines({ tokens: ['a'], ner_tags: [9] }), { tagNames: names }).message).toBe(
      'ner_tags[0]: class id 9 has no name (4 tag names given: 0-3)',
    );
    expect(tagNamesFromText('{"id2label": {"0": "O", "1": "B-X"}, "hidden_size": 8}', 'config.json')).toEqual([
      'O',
      'B-X',
    ]);
    expect(
      tagNamesFromText(
        '{"features": {"tokens": {}, "ner_tags": {"feature": {"names": ["O", "B-Y"]}}}}',
        'dataset_info.json',
      ),
    ).toEqual(['O', 'B-Y']);
    expect(tagNamesFromText('O\nB-Z\n', 'labels.txt')).toEqual(['O', 'B-Z']);
    expect(() => tagNamesFromText('{"a": 1}', 'x.json')).toThrow(/no tag names found/);
  });
  it('accepts tags and entities together only when they agree', () => {
    const tokens = ['New', 'York'];
    expect(
      parseCorpus(
        lines({ tokens, tags: ['B-LOC', 'I-LOC'], entities: [{ start: 0, end: 2, label: 'LOC' }] }),
        'a.jsonl',
      ).corpus.sentences[0]!.spans,
    ).toHaveLength(1);
    expect(
      fails(lines({ tokens, tags: ['B-LOC', 'B-LOC'], entities: [{ start: 0, end: 2, label: 'LOC' }] })).message,
    ).toMatch(/disagree/);
  });
  it('refuses malformed records, naming the line', () => {
    expect(fails(lines({ tokens: ['a', 'b'], tags: ['O'] })).format()).toBe(
      'in.jsonl:1: "tags" has 1 items but "tokens" has 2',
    );
    expect(fails(lines({ tokens: ['a'], tags: ['O'] }, { tokens: ['a', ''], tags: ['O', 'O'] })).format()).toBe(
      'in.jsonl:2: tokens[1]: empty token',
    );
    expect(fails(lines({ tokens: ['a'], ner_tags: [3] })).message).toMatch(
      /ner_tags\[0\] must be a tag string .*integer class ids/,
    );
    expect(fails(lines({ tokens: ['a'], tags: ['B_PER'] })).format()).toMatch(
      /^in\.jsonl:1: tags\[0\]: bad tag "B_PER"/,
    );
    expect(fails(lines({ tokens: ['a'], entities: [{ start: 0, end: 2, label: 'X' }] })).message).toMatch(
      /token range \[0, 2\) is not a non-empty range inside the sentence \(1 tokens\)/,
    );
    expect(fails(lines({ tokens: ['a'] }, { tags: ['O'] })).format()).toBe('in.jsonl:2: missing field "tokens"');
    expect(fails(lines({ tokens: 'a b' })).message).toMatch(/"tokens" must be an array/);
  });
  it('repairs an I- after O (lenient, counted) or refuses it (strict)', () => {
    const text = lines({ tokens: ['a', 'b', 'c'], tags: ['B-X', 'O', 'I-X'] }, { tokens: ['d'], tags: ['B-Y'] });
    const r = parseCorpus(text, 'r.jsonl');
    expect(r.repairs).toEqual([
      {
        file: 'r.jsonl',
        line: 1,
        message: 'tags[2]: tag I-X after O is not valid IOB2; read as B-X',
        from: 'I-X',
        to: 'B-X',
      },
    ]);
    expect(r.corpus.sentences[0]!.spans.map((x) => x.start)).toEqual([0, 2]);
    expect(fails(text, { strict: true }, 'r.jsonl').format()).toBe(
      'r.jsonl:1: tags[2]: tag I-X after O is not valid IOB2; read as B-X (refused in strict mode)',
    );
  });
  it('skips a record without tokens as a repair (strict: refuses)', () => {
    const text = lines({ tokens: [] }, { tokens: ['a'], tags: ['O'] });
    expect(parseCorpus(text, 'e.jsonl').repairs.map((x) => x.message)).toEqual(['sentence without tokens skipped']);
    expect(fails(text, { strict: true }).line).toBe(1);
  });
});
