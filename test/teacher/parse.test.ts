import { describe, expect, it } from 'vitest';
import { AnswerParseError, balancedObjects, parseAnswer, requote } from '../../src/teacher/parse.js';

const one = ['1'];

describe('parseAnswer: where the JSON is', () => {
  it('reads a whole-message JSON answer', () => {
    const r = parseAnswer('{"entities":[{"text":"EU","type":"ORG"}]}', one);
    expect(r.source).toBe('whole');
    expect(r.results.get('1')).toEqual([{ text: 'EU', type: 'ORG' }]);
  });

  it('reads the last fenced block after the reasoning', () => {
    const text = [
      'Step by step: an example answer looks like ```json\n{"entities":[{"text":"X","type":"PER"}]}\n```',
      'Now the real one:',
      '```json',
      '{"entities":[{"text":"EU","type":"ORG"},{"text":"German","type":"MISC"}]}',
      '```',
    ].join('\n');
    const r = parseAnswer(text, one);
    expect(r.source).toBe('fenced');
    expect(r.results.get('1')!.map((e) => e.text)).toEqual(['EU', 'German']);
  });

  it('reads the last JSON object after prose, ignoring braces in the reasoning', () => {
    const text =
      'I think {maybe} "EU" is an organisation.\nFinal answer: {"entities": [{"text": "EU", "type": "ORG"}]}\nHope this helps!';
    const r = parseAnswer(text, one);
    expect(r.source).toBe('embedded');
    expect(r.results.get('1')).toEqual([{ text: 'EU', type: 'ORG' }]);
  });

  it('repairs trailing commas, single quotes, unquoted keys and bullets', () => {
    const cases = [
      '{"entities":[{"text":"EU","type":"ORG"},],}',
      "{'entities':[{'text':'EU','type':'ORG'}]}",
      '{entities:[{text:"EU",type:"ORG"}]}',
      '```json\n{"entities": [\n  - {"text": "EU", "type": "ORG"}\n]}\n```',
      '{"entities":[{"text":"EU","type":"ORG"}]} // done',
    ];
    for (const c of cases) {
      const r = parseAnswer(c, one);
      expect(r.results.get('1'), c).toEqual([{ text: 'EU', type: 'ORG' }]);
    }
  });

  it('refuses an answer cut off inside its JSON instead of closing it (no silent partial answer)', () => {
    expect(() =>
      parseAnswer('Reasoning...\n```json\n{"entities":[{"text":"EU","type":"ORG"},{"text":"Ger', one),
    ).toThrow(AnswerParseError);
    expect(() => parseAnswer('{"entities":[{"text":"EU","type":"ORG"},{"text":"German","type":"MISC"}', one)).toThrow(
      AnswerParseError,
    );
  });

  it('refuses a reply with no answer', () => {
    expect(() => parseAnswer('I cannot help with that.', one)).toThrow(AnswerParseError);
    expect(() => parseAnswer('{"foo": 1}', one)).toThrow(AnswerParseError);
  });
});

describe('parseAnswer: shapes', () => {
  it('reads batched results per id and reports missing and unknown ids', () => {
    const r = parseAnswer(
      '{"results":[{"id":"1","entities":[{"text":"EU","type":"ORG"}]},{"id":"3","entities":[]},{"id":"9","entities":[]}]}',
      ['1', '2', '3'],
    );
    expect([...r.results.keys()].sort()).toEqual(['1', '3']);
    expect(r.results.has('2')).toBe(false);
    expect(r.unknownIds).toEqual(['9']);
    expect(r.duplicateIds).toEqual([]);
  });

  it('credits a single-sentence answer under another id to the one sentence asked (nothing else it could be)', () => {
    expect(parseAnswer('{"id":"0","entities":[["EU","ORG"]]}', ['1'])).toMatchObject({ unknownIds: [] });
    expect(parseAnswer('{"results":[{"id":"s1","entities":[["EU","ORG"]]}]}', ['1']).results.get('1')).toEqual([
      { text: 'EU', type: 'ORG' },
    ]);
    // two lists for one sentence: doubtful, reported
    expect(parseAnswer('{"results":[{"id":"0","entities":[]},{"id":"1","entities":[]}]}', ['1']).unknownIds).toEqual([
      '0',
    ]);
  });

  it('reports an id given twice', () => {
    const r = parseAnswer(
      '{"results":[{"id":"1","entities":[]},{"id":"1","entities":[["EU","ORG"]]},{"id":"2","entities":[]}]}',
      ['1', '2'],
    );
    expect(r.duplicateIds).toEqual(['1']);
    expect(r.unknownIds).toEqual([]);
  });

  it('reads numeric ids, id-keyed objects, pairs, type→texts maps, alternative key names and occurrence', () => {
    expect(parseAnswer('{"results":[{"id":1,"entities":[["EU","ORG"]]}]}', one).results.get('1')).toEqual([
      { text: 'EU', type: 'ORG' },
    ]);
    expect(
      parseAnswer('{"1":[{"entity":"EU","label":"ORG"}],"2":{"entities":[]}}', ['1', '2']).results.get('2'),
    ).toEqual([]);
    expect(parseAnswer('{"entities":{"PER":["Phil Simmons"],"ORG":["EU"]}}', one).results.get('1')).toEqual([
      { text: 'Phil Simmons', type: 'PER' },
      { text: 'EU', type: 'ORG' },
    ]);
    expect(
      parseAnswer('{"reasoning":"x","entities":[{"text":"Simmons","type":"PER","occurrence":2}]}', one).results.get(
        '1',
      ),
    ).toEqual([{ text: 'Simmons', type: 'PER', occurrence: 2 }]);
    expect(parseAnswer('{"entities":[{"text":"EU","type":"ORG","occurrence":null}]}', one).results.get('1')).toEqual([
      { text: 'EU', type: 'ORG' },
    ]);
  });
});

describe('balancedObjects', () => {
  it('is string- and escape-aware', () => {
    expect(balancedObjects('a {"x":"}{\\""} b {"y":1}')).toEqual(['{"x":"}{\\""}', '{"y":1}']);
    expect(balancedObjects('{"open": [1, 2')).toEqual([]);
    // an unclosed object does not hide a complete one inside or after it
    expect(balancedObjects('{"a": {"b": 1} and then {"c": 2}')).toEqual(['{"b": 1}', '{"c": 2}']);
    // a stray quote in an unclosed object: the pass is repeated after that brace
    expect(balancedObjects('{"a": "x {"entities": []}')).toEqual(['{"entities": []}']);
  });

  it('is linear: 200 KB of `{"a":` costs a bounded number of passes, not one per brace', () => {
    for (const size of [20_000, 200_000]) {
      const text = '{"a":'.repeat(size / 5);
      const work = { steps: 0 };
      expect(balancedObjects(text, work)).toEqual([]);
      // a quadratic scan would visit ~ size²/10 characters (4·10⁹ at 200 KB); this visits at most 8 passes
      expect(work.steps).toBeLessThanOrEqual(8 * size);
    }
    expect(() => parseAnswer('{"a":'.repeat(40_000), ['1'])).toThrow(AnswerParseError);
  });
});

describe('single quotes', () => {
  it('tells a delimiter from an apostrophe', () => {
    expect(requote(`{text:'Lord 's',type:'LOC'}`)).toBe(`{text:"Lord 's",type:"LOC"}`);
    expect(requote(`{"text":"O'Neil",'type':'PER'}`)).toBe(`{"text":"O'Neil","type":"PER"}`);
    expect(
      parseAnswer(`Final answer: {results:[{id:'1',entities:[{text:'Lord 's',type:'LOC'}]}]}`, ['1']).results.get('1'),
    ).toEqual([{ text: "Lord 's", type: 'LOC' }]);
  });
});

describe('parse errors say where', () => {
  it('gives invalid JSON a line and column, and a cut-off answer its own words', () => {
    const bad = '{"entities": [\n  {"text": "x", "type": "ORG"},\n  {"text": "y" :: "ORG"}\n]}';
    expect(() => parseAnswer(bad, ['1'])).toThrow(/invalid JSON: line 3, column \d+/);
    let err: unknown;
    try {
      parseAnswer('{"entities": [{"text": "EU", "ty', ['1']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AnswerParseError);
    expect((err as AnswerParseError).feedback).toMatch(/stopped before its JSON was complete/);
  });
});

describe('parseAnswer: cut-off JSON inside a closed fence', () => {
  it('does not repair a cut-off batched answer into an empty entity for the sentence that was cut', () => {
    const text = [
      'Sentence 2: "PANAMA CITY" is a location.',
      '```json',
      '{"results": [{"id": "1", "entities": [{"text": "PANAMA", "type": "LOC",},],}, {"id": "2", "entities": [{',
      '```',
      'I hope this helps.',
    ].join('\n');
    const r = parseAnswer(text, ['1', '2', '3']);
    expect(r.results.get('1')).toEqual([{ text: 'PANAMA', type: 'LOC' }]);
    expect(r.results.has('2')).toBe(false); // missing: asked again alone
    expect(r.results.has('3')).toBe(false);
  });
});
