import { describe, expect, it } from 'vitest';
import { groundEntities, locate, resolveType } from '../../src/teacher/ground.js';

const TYPES = ['PER', 'ORG', 'LOC', 'MISC'];
const toks = (s: string) => s.split(' ');

describe('grounding entity strings to token spans', () => {
  it('labels every occurrence of an entity that occurs twice', () => {
    const tokens = toks('Paris beat Lyon , and Paris fans cheered .');
    const r = groundEntities(
      tokens,
      [
        { text: 'Paris', type: 'ORG' },
        { text: 'Lyon', type: 'ORG' },
      ],
      TYPES,
    );
    expect(r.spans).toEqual([
      { start: 0, end: 1, label: 'ORG', text: 'Paris' },
      { start: 2, end: 3, label: 'ORG', text: 'Lyon' },
      { start: 5, end: 6, label: 'ORG', text: 'Paris' },
    ]);
    expect(r.rejected).toEqual([]);
  });

  it('labels only the occurrence named by "occurrence"; an occurrence past the end means every occurrence', () => {
    const tokens = toks('Jordan met Jordan in Amman .');
    const r = groundEntities(
      tokens,
      [
        { text: 'Jordan', type: 'PER', occurrence: 1 },
        { text: 'Jordan', type: 'LOC', occurrence: 2 },
        { text: 'Amman', type: 'LOC', occurrence: 2 },
      ],
      TYPES,
    );
    expect(r.spans.map((s) => [s.start, s.label])).toEqual([
      [0, 'PER'],
      [2, 'LOC'],
      [4, 'LOC'],
    ]);
    expect(r.rejected).toEqual([]);
  });

  it('gives a repeated text listed with two types and no occurrence one type per occurrence, in order', () => {
    // "Paris" once PER, once LOC: today's answer shape from models that skip "occurrence"
    const r = groundEntities(
      toks('Paris said Paris was lovely'),
      [
        { text: 'Paris', type: 'PER' },
        { text: 'Paris', type: 'LOC' },
      ],
      TYPES,
    );
    expect(r.spans.map((s) => [s.start, s.label])).toEqual([
      [0, 'PER'],
      [2, 'LOC'],
    ]);
    // an explicit occurrence takes its own; the free listing gets the rest
    const m = groundEntities(
      toks('Paris said Paris was lovely'),
      [
        { text: 'Paris', type: 'LOC', occurrence: 2 },
        { text: 'Paris', type: 'PER' },
      ],
      TYPES,
    );
    expect(m.spans.map((s) => [s.start, s.label])).toEqual([
      [0, 'PER'],
      [2, 'LOC'],
    ]);
  });

  it('reads occurrence 1 on the only listing of a text as the text (later mentions are not lost)', () => {
    // real CoNLL-2003 train sentence: both mentions of Israel are LOC
    const tokens = toks('Israel \'s Channel Two television said Damascus had sent a " calming signal " to Israel .');
    const r = groundEntities(tokens, [{ text: 'Israel', type: 'LOC', occurrence: 1 }], TYPES);
    expect(r.spans.map((s) => s.start)).toEqual([0, 15]);
    // occurrence 0, null, "first" or 9: free as well
    for (const occurrence of [0, null, 'first' as unknown as number, 9]) {
      expect(groundEntities(tokens, [{ text: 'Israel', type: 'LOC', occurrence }], TYPES).spans).toHaveLength(2);
    }
    // two listings with occurrences: honoured as given
    const two = groundEntities(
      toks('Jordan met Jordan'),
      [
        { text: 'Jordan', type: 'PER', occurrence: 1 },
        { text: 'Jordan', type: 'PER', occurrence: 2 },
      ],
      TYPES,
    );
    expect(two.spans.map((s) => s.start)).toEqual([0, 2]);
  });

  it('rejects and keeps hallucinated entities and unknown types', () => {
    const r = groundEntities(
      toks('EU rejects German call'),
      [
        { text: 'Brussels', type: 'LOC' },
        { text: 'EU', type: 'COMPANY' },
        { text: 'German', type: 'MISC' },
      ],
      TYPES,
    );
    expect(r.spans).toEqual([{ start: 2, end: 3, label: 'MISC', text: 'German' }]);
    expect(r.rejected).toEqual([
      { text: 'Brussels', type: 'LOC', reason: 'not-found' },
      { text: 'EU', type: 'COMPANY', reason: 'unknown-type' },
    ]);
  });

  it('matches case-, whitespace- and punctuation-insensitively, never in the middle of a word', () => {
    const tokens = toks("Smith 's St. Louis firm NewYork U.S. \u201cReuters\u201d");
    expect(locate(tokens, "Smith's")).toEqual({ level: 'exact', spans: [[0, 1]] }); // the clitic is not part of the name
    expect(locate(tokens, 'st. louis')).toEqual({ level: 'normalised', spans: [[2, 4]] });
    expect(locate(tokens, 'St Louis')).toEqual({ level: 'punctuation', spans: [[2, 4]] });
    expect(locate(tokens, 'US')).toEqual({ level: 'punctuation', spans: [[6, 7]] });
    expect(locate(tokens, '"Reuters"')).toEqual({ level: 'exact', spans: [[7, 8]] });
    expect(locate(tokens, 'York')).toBeUndefined(); // inside the token NewYork, mid-word
    expect(locate(tokens, 'Smit')).toBeUndefined();
    expect(locate(toks('in European Union and The Hague'), 'the European Union')).toEqual({
      level: 'article',
      spans: [[1, 3]],
    });
    expect(locate(toks('the European Union and The Hague'), 'The Hague')).toEqual({ level: 'exact', spans: [[4, 6]] });
    expect(locate(toks("Moody 's said"), "Moody 's")).toEqual({ level: 'exact', spans: [[0, 2]] }); // copied verbatim: kept
    expect(locate(tokens, '...')).toBeUndefined();
  });

  it('resolves overlaps: the longer span wins, the loser is kept as rejected with the winner named', () => {
    const r = groundEntities(
      toks('the Bank of England said'),
      [
        { text: 'England', type: 'LOC' },
        { text: 'Bank of England', type: 'ORG' },
      ],
      TYPES,
    );
    expect(r.spans).toEqual([{ start: 1, end: 4, label: 'ORG', text: 'Bank of England' }]);
    expect(r.rejected).toEqual([
      {
        text: 'England',
        type: 'LOC',
        reason: 'overlap',
        start: 3,
        end: 4,
        conflictsWith: { start: 1, end: 4, label: 'ORG' },
      },
    ]);
  });

  it('rejects both labels when one answer gives the same tokens two types, and merges exact duplicates', () => {
    const r = groundEntities(
      toks('Germany won'),
      [
        { text: 'Germany', type: 'LOC' },
        { text: 'Germany', type: 'ORG' },
      ],
      TYPES,
    );
    expect(r.spans).toEqual([]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['type-conflict', 'type-conflict']);
    const d = groundEntities(
      toks('Germany won'),
      [
        { text: 'Germany', type: 'LOC' },
        { text: 'germany', type: 'loc' },
      ],
      TYPES,
    );
    expect(d.spans).toHaveLength(1);
    expect(d.rejected).toEqual([]);
  });

  it('rejects malformed entities as invalid and maps type aliases', () => {
    const r = groundEntities(
      toks('EU'),
      [
        { text: '', type: 'ORG' },
        { text: 'EU', type: undefined as unknown as string },
      ],
      TYPES,
    );
    expect(r.rejected.map((x) => x.reason)).toEqual(['invalid', 'invalid']);
    expect(resolveType('Person', TYPES)).toBe('PER');
    expect(resolveType('organization', TYPES)).toBe('ORG');
    expect(resolveType('misc', TYPES)).toBe('MISC');
    expect(resolveType('DATE', TYPES)).toBeUndefined();
  });
});
