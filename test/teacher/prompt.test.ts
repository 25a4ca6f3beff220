import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { DEFAULT_DEFINITIONS, loadDefinitions, parseTypes, resolveDefinitions } from '../../src/teacher/definitions.js';
import { DemoSelector } from '../../src/teacher/demos.js';
import { groundEntities } from '../../src/teacher/ground.js';
import { parseAnswer } from '../../src/teacher/parse.js';
import {
  answerEntities,
  answerSchema,
  buildMessages,
  demoAnswer,
  parsePromptSentences,
  type Demo,
} from '../../src/teacher/prompt.js';

const defs = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const demo: Demo = {
  tokens:
    'West Indian all-rounder Phil Simmons took four for 38 on Friday as Leicestershire beat Somerset . Simmons'.split(
      ' ',
    ),
  spans: [
    { start: 0, end: 2, label: 'MISC' },
    { start: 3, end: 5, label: 'PER' },
    { start: 12, end: 13, label: 'ORG' },
    { start: 14, end: 15, label: 'ORG' },
    { start: 16, end: 17, label: 'PER' },
  ],
};

describe('prompt', () => {
  it('builds system, demo turns and the <sentences> block, which a server can read back', () => {
    const sentences = [
      { id: '1', tokens: ['EU', 'rejects', 'German', 'call'] },
      { id: '2', tokens: ['Peter', 'Blackburn'] },
    ];
    const m = buildMessages(sentences, [demo], { definitions: defs, structured: false });
    expect(m.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(m[0]!.content).toContain('Reason step by step');
    for (const d of defs) expect(m[0]!.content).toContain(`- ${d.name}: ${d.description}`);
    expect(m[0]!.content).toContain('"results"');
    expect(parsePromptSentences(m)).toEqual([
      { id: '1', text: 'EU rejects German call', tokens: ['EU', 'rejects', 'German', 'call'] },
      { id: '2', text: 'Peter Blackburn', tokens: ['Peter', 'Blackburn'] },
    ]);
    const single = buildMessages([sentences[0]!], [demo, demo], { definitions: defs, structured: true });
    expect(single.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(single[0]!.content).toContain('"reasoning"');
  });

  it("demo answers have a rationale per entity and ground back to exactly the demo's spans", () => {
    for (const structured of [false, true]) {
      const text = demoAnswer([demo], { definitions: defs, structured });
      const reasoning = structured ? (JSON.parse(text) as { reasoning: string }).reasoning : text;
      expect(reasoning).toContain('"Phil Simmons" names a person, so it is PER.');
      expect(reasoning).toContain('"Friday" is capitalised but is not a name');
      const parsed = parseAnswer(text, ['1']);
      const g = groundEntities(demo.tokens, parsed.results.get('1')!, ['PER', 'ORG', 'LOC', 'MISC']);
      expect(g.spans.map(({ start, end, label }) => ({ start, end, label }))).toEqual(demo.spans);
    }
    // a text labelled at every occurrence is listed once; one labelled only somewhere gets its occurrence
    const twice: Demo = {
      tokens: 'Paris beat Paris'.split(' '),
      spans: [
        { start: 0, end: 1, label: 'ORG' },
        { start: 2, end: 3, label: 'ORG' },
      ],
    };
    expect(answerEntities(twice)).toEqual([{ text: 'Paris', type: 'ORG' }]);
    expect(answerEntities(demo).find((e) => e.text === 'Simmons')).toEqual({
      text: 'Simmons',
      type: 'PER',
      occurrence: 2,
    });
  });

  it('exports a strict-mode JSON schema for single and batched answers', () => {
    const s = answerSchema(['PER', 'ORG'], false) as {
      required: string[];
      properties: { entities: { items: { properties: { type: { enum: string[] } } } } };
    };
    expect(s.required).toEqual(['reasoning', 'entities']);
    expect(s.properties.entities.items.properties.type.enum).toEqual(['PER', 'ORG']);
    expect((answerSchema(['PER'], true) as { required: string[] }).required).toEqual(['reasoning', 'results']);
  });
});

describe('definitions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nerd-defs-'));

  it('loads YAML (strings or objects, optionally under types:) and JSON', () => {
    const y = join(dir, 'd.yaml');
    writeFileSync(y, 'types:\n  DRUG: Names of medicines.\n  PER:\n    description: People.\n    examples: [Ada]\n');
    const d = loadDefinitions(y);
    expect(d.DRUG).toMatchObject({ name: 'DRUG', description: 'Names of medicines.', examples: [] });
    expect(d.PER).toMatchObject({ description: 'People.', examples: ['Ada'], gloss: 'a person' });
    const j = join(dir, 'd.json');
    writeFileSync(j, JSON.stringify({ ORG: 'Organisations.' }));
    expect(resolveDefinitions(['ORG', 'LOC'], j).map((x) => x.description)).toEqual([
      'Organisations.',
      DEFAULT_DEFINITIONS.LOC!.description,
    ]);
  });

  it('names the file and line of a bad entry, and a type with no definition', () => {
    const y = join(dir, 'bad.yaml');
    writeFileSync(y, 'PER: People.\nORG:\n  descripton: typo\n');
    expect(() => loadDefinitions(y)).toThrow(InputError);
    try {
      loadDefinitions(y);
    } catch (e) {
      expect((e as InputError).format()).toMatch(/bad\.yaml:3.*ORG/);
    }
    expect(() => resolveDefinitions(['DRUG'])).toThrow(/no default definition/);
    expect(() => parseTypes('PER,,PER')).toThrow(/twice/);
    expect(parseTypes(' PER , ORG ')).toEqual(['PER', 'ORG']);
  });
});

describe('demo selection', () => {
  const pool: Demo[] = [
    {
      tokens: 'Leicestershire beat Somerset by six wickets'.split(' '),
      spans: [
        { start: 0, end: 1, label: 'ORG' },
        { start: 2, end: 3, label: 'ORG' },
      ],
    },
    { tokens: 'The bank raised interest rates on Tuesday'.split(' '), spans: [] },
    {
      tokens: 'Yorkshire beat Lancashire by an innings'.split(' '),
      spans: [
        { start: 0, end: 1, label: 'ORG' },
        { start: 2, end: 3, label: 'ORG' },
      ],
    },
    { tokens: 'LONDON 1996-08-30'.split(' '), spans: [{ start: 0, end: 1, label: 'LOC' }] },
    { tokens: 'Warwickshire beat Derbyshire by 10 runs'.split(' '), spans: [] },
  ];
  const sel = new DemoSelector(pool);

  it('ranks similar sentences first and never returns the sentence itself', () => {
    const ranked = sel.rank('Hampshire beat Kent by four wickets'.split(' '));
    expect(ranked[0]!.index).toBe(0);
    expect(sel.rank('PARIS 1996-08-31'.split(' '))[0]!.index).toBe(3);
    expect(sel.select([pool[0]!.tokens], 2)).not.toContain(pool[0]);
  });

  it('makes sure at least one chosen demo has an entity, and interleaves a batch', () => {
    const picks = sel.select(['Warwickshire beat Derbyshire by 10 runs today'.split(' ')], 1);
    expect(picks[0]!.spans.length).toBeGreaterThan(0);
    const batch = sel.select(['Hampshire beat Kent by four wickets'.split(' '), 'PARIS 1996-08-31'.split(' ')], 2);
    expect(batch).toEqual([pool[0], pool[3]]);
  });
});
