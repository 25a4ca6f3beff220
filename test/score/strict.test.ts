/**
 * seqeval strict mode. The entity tables are the input/output pairs of seqeval's own tests (tests/test_scheme.py,
 * seqeval 1.2.x) for IOB2, IOBES and IOB1; the end-to-end cases are seqeval's README examples.
 */
import { describe, expect, it } from 'vitest';
import { scoreTagSequences, strictEntities, type StrictScheme } from '../../src/score/index.js';
import { InputError } from '../../src/errors.js';

type Row = [string[], Array<[string, number, number]>];
const ents = (tags: string[], scheme: StrictScheme) =>
  strictEntities(tags, scheme).map((e) => [e.type, e.start, e.end] as [string, number, number]);

const IOB2: Row[] = [
  [[], []],
  [['B-PER'], [['PER', 0, 1]]],
  [['I-PER'], []],
  [['O'], []],
  [['O', 'I-PER'], []],
  [['O', 'B-PER'], [['PER', 1, 2]]],
  [['I-PER', 'O'], []],
  [['I-PER', 'I-PER'], []],
  [['I-PER', 'I-ORG'], []],
  [['I-PER', 'B-PER'], [['PER', 1, 2]]],
  [['I-PER', 'B-ORG'], [['ORG', 1, 2]]],
  [['B-PER', 'O'], [['PER', 0, 1]]],
  [['B-PER', 'I-PER'], [['PER', 0, 2]]],
  [['B-PER', 'I-ORG'], [['PER', 0, 1]]],
  [
    ['B-PER', 'B-PER'],
    [
      ['PER', 0, 1],
      ['PER', 1, 2],
    ],
  ],
  [
    ['B-PER', 'B-ORG'],
    [
      ['PER', 0, 1],
      ['ORG', 1, 2],
    ],
  ],
  [['B'], [['_', 0, 1]]],
  [['B', 'I'], [['_', 0, 2]]],
];

const IOBES: Row[] = [
  [['O'], []],
  [['I-PER'], []],
  [['B-PER'], []],
  [['E-PER'], []],
  [['S-PER'], [['PER', 0, 1]]],
  [['O', 'S-PER'], [['PER', 1, 2]]],
  [['I-PER', 'S-PER'], [['PER', 1, 2]]],
  [['I-PER', 'E-PER'], []],
  [['B-PER', 'O'], []],
  [['B-PER', 'I-PER'], []],
  [['B-PER', 'B-PER'], []],
  [['B-PER', 'E-PER'], [['PER', 0, 2]]],
  [['B-PER', 'E-ORG'], []],
  [['B-PER', 'S-PER'], [['PER', 1, 2]]],
  [['E-PER', 'S-PER'], [['PER', 1, 2]]],
  [['S-PER', 'O'], [['PER', 0, 1]]],
  [['S-PER', 'I-PER'], [['PER', 0, 1]]],
  [['S-PER', 'E-PER'], [['PER', 0, 1]]],
  [
    ['S-PER', 'S-PER'],
    [
      ['PER', 0, 1],
      ['PER', 1, 2],
    ],
  ],
  [['B', 'E'], [['_', 0, 2]]],
  [['S', 'B'], [['_', 0, 1]]],
];

const IOB1: Row[] = [
  [['B-PER'], []],
  [['I-PER'], [['PER', 0, 1]]],
  [['O', 'I-PER'], [['PER', 1, 2]]],
  [
    ['I-PER', 'I-ORG'],
    [
      ['PER', 0, 1],
      ['ORG', 1, 2],
    ],
  ],
  [
    ['I-PER', 'B-PER'],
    [
      ['PER', 0, 1],
      ['PER', 1, 2],
    ],
  ],
  [['I-PER', 'B-ORG'], [['PER', 0, 1]]],
  [['B-PER', 'I-PER'], [['PER', 1, 2]]],
  [['B-PER', 'I-ORG'], [['ORG', 1, 2]]],
  [['B-PER', 'B-PER'], [['PER', 1, 2]]],
  [['B-PER', 'B-ORG'], []],
];

describe('seqeval strict entities', () => {
  for (const [scheme, rows] of [
    ['iob2', IOB2],
    ['bioes', IOBES],
    ['iob1', IOB1],
  ] as const) {
    it(`${scheme}: ${rows.length} cases from seqeval's tests`, () => {
      for (const [tags, expected] of rows) expect([tags, ents(tags, scheme)]).toEqual([tags, expected]);
    });
  }

  it('rejects prefixes outside the scheme with an InputError', () => {
    expect(() => strictEntities(['B-PER', 'E-PER', 'S-PER'], 'iob2')).toThrow(InputError);
    expect(() => strictEntities(['T'], 'iob2')).toThrow(/not valid in the iob2 scheme/);
    expect(() => strictEntities([''], 'bioes')).toThrow(InputError);
  });
});

describe('strict mode reports', () => {
  it('counts an entity that starts with I- as no entity (README example)', () => {
    const gold = [['B-NP', 'I-NP', 'O']];
    const pred = [['I-NP', 'I-NP', 'O']];
    const lenient = scoreTagSequences(gold, pred);
    const strict = scoreTagSequences(gold, pred, { mode: 'strict', scheme: 'iob2' });
    expect(lenient.types.NP).toMatchObject({ gold: 1, found: 1, correct: 1, f1: 1 });
    expect(strict.types.NP).toMatchObject({ gold: 1, found: 0, correct: 0, precision: 0, recall: 0, f1: 0 });
    expect(strict.mode).toBe('strict');
    expect(strict.accuracy).toBeCloseTo(2 / 3, 15);
  });

  it('scores per type and overall (README example)', () => {
    const gold = [
      ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
      ['B-PER', 'I-PER', 'O'],
    ];
    const pred = [
      ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
      ['B-PER', 'I-PER', 'O'],
    ];
    const r = scoreTagSequences(gold, pred, { mode: 'strict' });
    expect(r.types.MISC).toMatchObject({ gold: 1, found: 1, correct: 0 });
    expect(r.types.PER).toMatchObject({ gold: 1, found: 1, correct: 1 });
    expect([r.precision, r.recall, r.f1]).toEqual([0.5, 0.5, 0.5]);
  });

  it('separates BIOES S-X S-X where conlleval merges them', () => {
    const gold = [['S-PER', 'S-PER', 'O']];
    const strict = scoreTagSequences(gold, gold, { mode: 'strict', scheme: 'bioes' });
    const conll = scoreTagSequences(gold, gold);
    expect(strict.gold).toBe(2);
    expect(conll.gold).toBe(1);
  });
});
