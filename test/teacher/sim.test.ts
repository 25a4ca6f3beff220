/**
 * `nerd teacher-sim`: answers from gold through the real OpenAI SDK client over HTTP, the noise model,
 * determinism, fault injection and sentence finding.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { ProviderError, type ChatMessage, type ChatResponse } from '../../src/teacher/providers/types.js';
import { findInText, findSentences } from '../../src/teacher/sim/find.js';
import { indexGold, loadGold, normaliseKey, type GoldCorpus, type GoldSentence } from '../../src/teacher/sim/gold.js';
import { DEFAULT_NOISE, NO_NOISE, resolveNoise } from '../../src/teacher/sim/noise.js';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const DEV = path.join(DATA, 'conll2003/dev.txt');

interface Entity {
  text: string;
  type: string;
  occurrence?: number | null;
}
type Span = [number, number, string];

/** The protocol's user message: a <sentences> block of {"id","text"} lines (PROMPT_PROTOCOL v1). */
function userMessage(sentences: GoldSentence[]): string {
  const lines = sentences.map((s, i) => JSON.stringify({ id: String(i + 1), text: s.tokens.join(' ') }));
  return `Annotate these sentences:\n<sentences>\n${lines.join('\n')}\n</sentences>`;
}

function messages(sentences: GoldSentence[]): ChatMessage[] {
  return [
    {
      role: 'system',
      content: 'You are an expert annotator of named entities (PER, ORG, LOC, MISC). Reason step by step.',
    },
    { role: 'user', content: userMessage(sentences) },
  ];
}

/** A small answer reader for these tests (the pipeline's parse.ts is tested on its own). */
function readAnswer(text: string, n: number): Map<string, Entity[]> | undefined {
  const fenced = /```json\n([\s\S]*?)\n```/.exec(text);
  const at = text.indexOf('{', Math.max(0, text.lastIndexOf('Final answer')));
  let obj: { entities?: Entity[]; results?: Array<{ id: string; entities: Entity[] }> };
  try {
    obj = JSON.parse(fenced ? fenced[1]! : text.trim().startsWith('{') ? text : text.slice(at)) as typeof obj;
  } catch {
    return undefined;
  }
  const out = new Map<string, Entity[]>();
  if (n === 1 && obj.entities) out.set('1', obj.entities);
  for (const r of obj.results ?? []) out.set(r.id, r.entities);
  return out;
}

/** Entity texts to token spans: every occurrence (or the n-th), exact then case-insensitive. */
function ground(tokens: string[], entities: Entity[]): Span[] {
  const spans: Span[] = [];
  for (const e of entities) {
    const words = e.text.split(' ');
    for (const fold of [false, true]) {
      const eq = (a: string, b: string) => (fold ? a.toLowerCase() === b.toLowerCase() : a === b);
      const hits: number[] = [];
      for (let i = 0; i + words.length <= tokens.length; i++)
        if (words.every((w, k) => eq(tokens[i + k]!, w))) hits.push(i);
      if (hits.length === 0) continue;
      const chosen = e.occurrence ? hits.slice(e.occurrence - 1, e.occurrence) : hits;
      for (const h of chosen) spans.push([h, h + words.length, e.type]);
      break;
    }
  }
  return spans;
}

function goldSpans(s: GoldSentence): Span[] {
  return s.entities.map((e) => [e.start, e.end, e.type]);
}

const key = (s: Span) => s.join(',');

async function withRetries(call: () => Promise<ChatResponse>, n: number): Promise<Map<string, Entity[]>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const res = await call();
      if (res.finishReason !== 'stop') continue;
      const parsed = readAnswer(res.text, n);
      if (parsed) return parsed;
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
      await new Promise((r) => setTimeout(r, err.retryAfterMs ?? 0));
    }
  }
  throw new Error('no usable answer in 20 attempts');
}

/** Annotates `sentences` through the provider in batches; returns spans per sentence index. */
async function annotate(provider: OpenAIProvider, sentences: GoldSentence[], batch: number, seed?: number) {
  const out = new Map<number, Span[]>();
  const batches: GoldSentence[][] = [];
  for (let i = 0; i < sentences.length; i += batch) batches.push(sentences.slice(i, i + batch));
  const worker = async () => {
    for (let b = batches.shift(); b; b = batches.shift()) {
      const group = b;
      const answer = await withRetries(
        () =>
          provider.complete({
            messages: messages(group),
            temperature: seed === undefined ? 0 : 0.7,
            seed,
            maxTokens: 4000,
          }),
        group.length,
      );
      group.forEach((s, i) => out.set(s.index, ground(s.tokens, answer.get(String(i + 1)) ?? [])));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

function f1(sentences: GoldSentence[], predicted: Map<number, Span[]>) {
  let tp = 0,
    np = 0,
    ng = 0;
  for (const s of sentences) {
    const gold = new Set(goldSpans(s).map(key));
    const pred = new Set((predicted.get(s.index) ?? []).map(key));
    ng += gold.size;
    np += pred.size;
    for (const p of pred) if (gold.has(p)) tp++;
  }
  const precision = tp / np,
    recall = tp / ng;
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall) };
}

describe('teacher-sim on CoNLL-2003 dev', () => {
  let corpus: GoldCorpus;
  beforeAll(() => {
    corpus = loadGold(DEV);
  });

  it('reads the gold corpus with the published counts', () => {
    expect(corpus.sentences.length).toBe(3250);
    expect(corpus.sentences.reduce((n, s) => n + s.entities.length, 0)).toBe(5942);
    expect(corpus.types).toEqual(['LOC', 'MISC', 'ORG', 'PER']);
  });

  it('answers exactly the gold entities with noise off (all of dev, batches of 8, plain text)', async () => {
    const sim = await startTeacherSim({ gold: corpus, noise: 'none', log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', structuredOutput: false });
      const predicted = await annotate(provider, corpus.sentences, 8);
      let mismatches = 0;
      for (const s of corpus.sentences) {
        const a = (predicted.get(s.index) ?? []).map(key).sort();
        const b = goldSpans(s).map(key).sort();
        if (JSON.stringify(a) !== JSON.stringify(b)) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(sim.stats.unknownRequests).toBe(0);
      expect(sim.stats.sentencesAnswered).toBe(3250);
      expect(Object.values(sim.stats.faults).every((n) => n === 0)).toBe(true);
    } finally {
      await sim.close();
    }
  });

  it('gives a plausible GPT-4-class teacher with the default noise (entity F1 0.65-0.9), with faults injected', async () => {
    // the default noise, except that slow answers are not slowed down and Retry-After is short, for speed
    const sim = await startTeacherSim({
      gold: corpus,
      noise: 'default',
      noiseOverrides: { slowMs: 0, retryAfterS: 0.01 },
      seed: 7,
      log: null,
    });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', structuredOutput: false });
      const sample = corpus.sentences.slice(0, 800);
      const predicted = await annotate(provider, sample, 4);
      const score = f1(sample, predicted);
      console.log(
        `teacher-sim default noise, CoNLL dev[0:800], batch 4: P=${score.precision.toFixed(3)} R=${score.recall.toFixed(3)} F1=${score.f1.toFixed(3)}`,
      );
      expect(score.f1).toBeGreaterThan(0.65);
      expect(score.f1).toBeLessThan(0.9);
      for (const kind of [
        'missed',
        'wrong_type',
        'boundary',
        'rephrased',
        'hallucinated',
        'false_positive',
        'rate_limit',
        'server_error',
        'invalid_json',
        'length_cutoff',
        'prose_after_json',
        'trailing_comma',
      ] as const) {
        expect(sim.stats.faults[kind], kind).toBeGreaterThan(0);
      }
      const stats = (await fetch(sim.url.replace(/\/v1$/, '/stats')).then((r) => r.json())) as {
        requests: number;
        faults: Record<string, number>;
      };
      expect(stats.requests).toBe(sim.stats.requests);
      expect(stats.faults.rate_limit).toBe(sim.stats.faults.rate_limit);
    } finally {
      await sim.close();
    }
  });
});

describe('teacher-sim determinism and faults', () => {
  const corpus = loadGold(DEV);
  const some = corpus.sentences.slice(0, 60);
  let sim: TeacherSim;
  let provider: OpenAIProvider;
  beforeAll(async () => {
    sim = await startTeacherSim({
      gold: corpus,
      noise: { ...NO_NOISE, missRate: 0.2, wrongTypeRate: 0.1, boundaryRate: 0.1, hallucinationRate: 0.2 },
      seed: 3,
      log: null,
    });
    provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('gives a sentence the same noisy answer alone or in a batch, and again on a repeat', async () => {
    const batched = await annotate(provider, some, 6, 1);
    const single = await annotate(provider, some, 1, 1);
    const again = await annotate(provider, some, 6, 1);
    // a sentence the corpus repeats with other labels is resolved by its neighbours in a batch, so only
    // sentences with one labelling compare
    const unique = some.filter(
      (s) =>
        new Set(corpus.byKey.get(normaliseKey(s.tokens.join(' ')))?.map((g) => JSON.stringify(g.entities))).size <= 1,
    );
    expect(unique.length).toBeGreaterThan(50);
    for (const s of unique) {
      expect(single.get(s.index)).toEqual(batched.get(s.index));
      expect(again.get(s.index)).toEqual(batched.get(s.index));
    }
    expect(f1(some, batched).f1).toBeLessThan(1);
  });

  it('gives different samples for different seeds at temperature > 0, one answer at temperature 0', async () => {
    const a = await annotate(provider, some, 6, 1);
    const b = await annotate(provider, some, 6, 2);
    expect(some.some((s) => JSON.stringify(a.get(s.index)) !== JSON.stringify(b.get(s.index)))).toBe(true);
    // at temperature 0 the seed changes nothing (the wording around the JSON may vary between calls, as
    // with real APIs; the entities do not)
    const ask = (seed: number) =>
      withRetries(
        () => provider.complete({ messages: messages(some.slice(0, 6)), temperature: 0, seed, maxTokens: 4000 }),
        6,
      );
    expect([...(await ask(1))]).toEqual([...(await ask(2))]);
  });

  it('puts the reasoning in the schema field and the occurrence rule in structured answers', async () => {
    // "Jordan" twice, only the first labelled: the answer must say which occurrence
    const gold: GoldSentence[] = [
      {
        index: 0,
        tokens: ['Jordan', 'met', 'the', 'King', 'of', 'Jordan', '.'],
        entities: [{ start: 0, end: 1, type: 'PER' }],
      },
      {
        index: 1,
        tokens: ['Germany', 'beat', 'Germany', '.'],
        entities: [
          { start: 0, end: 1, type: 'LOC' },
          { start: 2, end: 3, type: 'LOC' },
        ],
      },
    ];
    const local = await startTeacherSim({ gold, noise: 'none', log: null });
    try {
      const p = new OpenAIProvider({ baseURL: local.url, model: 'm' });
      const schema = {
        type: 'object',
        properties: {
          reasoning: { type: 'string' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                entities: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      text: { type: 'string' },
                      type: { type: 'string' },
                      occurrence: { type: ['integer', 'null'] },
                    },
                  },
                },
              },
            },
          },
        },
      };
      const res = await p.complete({ messages: messages(gold), temperature: 0, maxTokens: 4000, jsonSchema: schema });
      const obj = JSON.parse(res.text) as { reasoning: string; results: Array<{ id: string; entities: Entity[] }> };
      expect(Object.keys(obj)[0]).toBe('reasoning');
      expect(obj.reasoning).toMatch(/'Jordan' is a person → PER/);
      expect(obj.results).toEqual([
        { id: '1', entities: [{ text: 'Jordan', type: 'PER', occurrence: 1 }] },
        { id: '2', entities: [{ text: 'Germany', type: 'LOC', occurrence: null }] },
      ]);
      expect(ground(gold[0]!.tokens, obj.results[0]!.entities)).toEqual([[0, 1, 'PER']]);
    } finally {
      await local.close();
    }
  });

  it('sends 429 with Retry-After, and a retry of the same request draws anew', async () => {
    const local = await startTeacherSim({
      gold: some,
      noise: 'none',
      noiseOverrides: { rateLimitRate: 0.5, retryAfterS: 1.5 },
      log: null,
    });
    try {
      const body = JSON.stringify({ model: 'm', messages: messages(some.slice(0, 1)), temperature: 0 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${local.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.headers.get('retry-after')).toBe('1.5');
          expect(res.headers.get('retry-after-ms')).toBe('1500');
        } else {
          const json = (await res.json()) as { model: string; usage: { prompt_tokens: number } };
          expect(json.model).toMatch(/^SIMULATED-teacher/);
          expect(json.usage.prompt_tokens).toBeGreaterThan(0);
        }
      }
      expect(statuses).toContain(429);
      expect(statuses).toContain(200);
      expect(local.stats.faults.rate_limit).toBe(statuses.filter((s) => s === 429).length);
    } finally {
      await local.close();
    }
  });

  it('reports the same faults for the same requests in a second run with the same seed', async () => {
    const run = async () => {
      const local = await startTeacherSim({
        gold: some,
        noise: 'default',
        noiseOverrides: { slowMs: 0 },
        seed: 11,
        log: null,
      });
      try {
        const texts: string[] = [];
        for (let i = 0; i < 20; i++) {
          const res = await fetch(`${local.url}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'm',
              messages: messages(some.slice(i % 10, (i % 10) + 2)),
              temperature: 0.7,
              seed: 1,
            }),
          });
          texts.push(
            `${res.status} ${res.status === 200 ? ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content : ''}`,
          );
        }
        return { texts, faults: { ...local.stats.faults } };
      } finally {
        await local.close();
      }
    };
    expect(await run()).toEqual(await run());
  });
});

describe('finding the sentences of a request', () => {
  const gold = indexGold([
    { index: 0, tokens: ['EU', 'rejects', 'German', 'call', '.'], entities: [] },
    { index: 1, tokens: ['Peter', 'Blackburn'], entities: [] },
    { index: 2, tokens: ['U.S.', "'s", 'plan', '"', 'works', '"'], entities: [] },
  ]);
  const ids = (text: string) => findInText(text, gold).map((f) => [f.id, f.gold?.index]);

  it('reads the <sentences> block of the pipeline protocol, unknown sentences included', () => {
    const text = `Annotate these 3 sentences:\n<sentences>\n{"id":"1","text":"Peter Blackburn"}\n{"id":"2","text":"not in gold"}\n{"id":"3","text":"EU rejects German call ."}\n</sentences>`;
    expect(ids(text)).toEqual([
      ['1', 1],
      ['2', undefined],
      ['3', 0],
    ]);
  });

  it('reads common id layouts and detokenised text', () => {
    expect(ids('[s1] EU rejects German call .\n[s2] Peter Blackburn')).toEqual([
      ['s1', 0],
      ['s2', 1],
    ]);
    expect(ids('1: EU rejects German call.\n2. Peter  Blackburn')).toEqual([
      ['1', 0],
      ['2', 1],
    ]);
    expect(ids('<sentence id="a7">U.S.\'s plan “works”</sentence>')).toEqual([['a7', 2]]);
    expect(ids('Sentence: "Peter Blackburn"')).toEqual([[undefined, 1]]);
    expect(ids('Input: ["EU", "rejects", "German", "call", "."]')).toEqual([[undefined, 0]]);
  });

  it('skips demonstrations: earlier user messages, and demos answered inline', () => {
    const found = findSentences(
      [
        { role: 'user', content: '<sentences>\n{"id":"1","text":"Peter Blackburn"}\n</sentences>' },
        { role: 'assistant', content: '{"entities":[]}' },
        { role: 'user', content: '<sentences>\n{"id":"1","text":"EU rejects German call ."}\n</sentences>' },
      ],
      gold,
    );
    expect(found.map((f) => f.gold?.index)).toEqual([0]);
    expect(ids('Example:\nPeter Blackburn\nAnswer: {"entities":[]}\nNow annotate:\nEU rejects German call .')).toEqual([
      [undefined, 0],
    ]);
    expect(
      ids('Peter Blackburn\nAnswer: {"entities":[{"text":"Peter Blackburn","type":"PER"}]}\nEU rejects German call .'),
    ).toEqual([[undefined, 0]]);
  });
});

describe('noise settings', () => {
  it('resolves presets, files and overrides, and rejects bad values with the file named', () => {
    expect(resolveNoise('none')).toEqual(NO_NOISE);
    expect(resolveNoise(undefined)).toEqual(DEFAULT_NOISE);
    expect(resolveNoise('default', { latencyMs: 500 }).latencyMs).toBe(500);
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-noise-'));
    const good = path.join(dir, 'noise.json');
    writeFileSync(good, JSON.stringify({ missRate: 0.5 }));
    expect(resolveNoise(good)).toEqual({ ...DEFAULT_NOISE, missRate: 0.5 });
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ missRate: 2 }));
    expect(() => resolveNoise(bad)).toThrow(InputError);
    expect(() => resolveNoise(bad)).toThrow(/missRate/);
    const typo = path.join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ misRate: 0.1 }));
    expect(() => resolveNoise(typo)).toThrow(InputError);
    expect(() => resolveNoise(path.join(dir, 'absent.json'))).toThrow(/default, none or a JSON file/);
  });

  it('names the file and line of a bad gold corpus', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-gold-'));
    const file = path.join(dir, 'gold.txt');
    writeFileSync(file, 'EU B-ORG\nrejects O\n\nPeter X-PER\n');
    try {
      loadGold(file);
      throw new Error('expected an InputError');
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).format()).toMatch(new RegExp(`gold.txt:4:7: "X-PER" is not an IOB tag`));
    }
  });
});

describe('teacher-sim answer-content noise: loose copies and batch id drift', () => {
  const corpus = loadGold(DEV);
  const started: TeacherSim[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });
  const raw = async (noiseOverrides: Record<string, number>, sentences: GoldSentence[]) => {
    const sim = await startTeacherSim({ gold: corpus, noise: 'none', seed: 5, log: null, noiseOverrides });
    started.push(sim);
    const p = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-test' });
    const r = await p.complete({ messages: messages(sentences), temperature: 0, maxTokens: 4000 });
    return { sim, text: r.text };
  };
  const withEntities = corpus.sentences.filter((s) => s.entities.length >= 2).slice(0, 4);

  it('writes "the" before names and punctuation around them at rate 1', async () => {
    const { sim, text } = await raw({ articleRate: 1, edgePunctuationRate: 1 }, withEntities.slice(0, 1));
    const ents = readAnswer(text, 1)!.get('1')!;
    expect(ents.length).toBe(withEntities[0]!.entities.length);
    for (const e of ents) expect(e.text).toMatch(/^"?the .*[.,"]$/);
    expect(sim.stats.faults.article).toBe(ents.length);
    expect(sim.stats.faults.edge_punctuation).toBe(ents.length);
  });

  it('numbers a batch from 0, duplicates an id, or leaves one out, each at rate 1', async () => {
    const ids = async (o: Record<string, number>) => {
      const { text } = await raw(o, withEntities);
      const json = JSON.parse(
        /```json\n([\s\S]*?)\n```/.exec(text)?.[1] ?? text.slice(text.indexOf('{', text.lastIndexOf('Final answer'))),
      ) as {
        results: Array<{ id?: string }>;
      };
      return json.results.map((r) => r.id);
    };
    expect(await ids({})).toEqual(['1', '2', '3', '4']);
    expect(await ids({ zeroBasedIdsRate: 1 })).toEqual(['0', '1', '2', '3']);
    const dup = await ids({ duplicateIdRate: 1 });
    expect(new Set(dup).size).toBe(3);
    const missing = await ids({ missingIdRate: 1 });
    expect(missing.filter((x) => x === undefined)).toHaveLength(1);
  });
});
