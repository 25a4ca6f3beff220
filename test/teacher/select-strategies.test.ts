import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import type { Sentence } from '../../src/corpus/types.js';
import { DistillConfig, loadConfigFile } from '../../src/distill/config.js';
import { configHash, stableHash } from '../../src/distill/experiment.js';
import { runData } from '../../src/distill/run.js';
import { TRAINING_REVISION } from '../../src/distill/revision.js';
import { splitByBudget } from '../../src/distill/split.js';
import { planPhases } from '../../src/distill/strategies.js';
import { InputError } from '../../src/errors.js';
import { Rng } from '../../src/random.js';
import {
  coverage,
  predictorSource,
  SELECT_STRATEGIES,
  selectIndices,
  sentenceUncertainty,
  uncertaintyScores,
  type ProbabilitySource,
} from '../../src/teacher/select.js';
import { dataPath } from '../helpers/data.js';

const dev = readCorpus(dataPath('conll2003/dev.txt')).corpus.sentences;
const slice = dev.slice(0, 1500);
const tokens = slice.map((s) => s.tokens);
const distinct = (idx: number[]) => new Set(idx.flatMap((i) => tokens[i]!)).size;

/** the split as it was before selection existed (copied from the previous split.ts), to prove `first`/`random` unchanged */
function oldSplit(pool: readonly Sentence[], budget: number, seed: number, teacherLimit = 0) {
  const n = budget <= 1 ? Math.max(1, Math.round(budget * pool.length)) : Math.min(pool.length, Math.round(budget));
  const order = Rng.derive(seed, 0xb0d9e7).shuffle(Array.from({ length: pool.length }, (_, i) => i));
  const humanIdx = order.slice(0, n).sort((a, b) => a - b);
  let rest = order.slice(n);
  if (teacherLimit > 0) rest = rest.slice(0, teacherLimit);
  rest.sort((a, b) => a - b);
  return { human: humanIdx.map((i) => pool[i]!), unlabelled: rest.map((i) => pool[i]!) };
}

describe('selection strategies', () => {
  it('each strategy is deterministic for a seed and returns k distinct indices in pool order', () => {
    const scores = tokens.map((_t, i) => (i * 7919) % 101);
    for (const strategy of SELECT_STRATEGIES) {
      const a = selectIndices(tokens, 100, { strategy, seed: 3, scores });
      expect(selectIndices(tokens, 100, { strategy, seed: 3, scores })).toEqual(a);
      expect(new Set(a).size).toBe(100);
      expect([...a].sort((x, y) => x - y)).toEqual(a);
      expect(a.every((i) => i >= 0 && i < tokens.length)).toBe(true);
    }
    // the seed matters where there is chance: random, and ties in uncertainty
    expect(selectIndices(tokens, 100, { strategy: 'random', seed: 4 })).not.toEqual(
      selectIndices(tokens, 100, { strategy: 'random', seed: 3 }),
    );
    const flat = tokens.map(() => 0.5);
    expect(selectIndices(tokens, 100, { strategy: 'uncertainty', seed: 4, scores: flat })).not.toEqual(
      selectIndices(tokens, 100, { strategy: 'uncertainty', seed: 3, scores: flat }),
    );
  });

  it('first is the head of the pool; k beyond the pool returns all of it', () => {
    expect(selectIndices(tokens, 5, { strategy: 'first', seed: 9 })).toEqual([0, 1, 2, 3, 4]);
    expect(selectIndices(tokens.slice(0, 7), 50, { strategy: 'diversity', seed: 1 })).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(selectIndices(tokens, 0, { strategy: 'random', seed: 1 })).toEqual([]);
  });

  it('the default split is the one before selection existed, byte for byte', async () => {
    const pool = dev.slice(0, 800);
    for (const [budget, seed, limit] of [
      [0.05, 1, 0],
      [40, 2, 300],
      [0.01, 3, 100],
    ] as const) {
      expect(splitByBudget(pool, budget, seed, limit)).toEqual(oldSplit(pool, budget, seed, limit));
    }
    const config = DistillConfig.parse({
      data: { train: dataPath('conll2003/dev.txt'), teacherLimit: 200 },
      budget: 0.02,
      seed: 5,
    });
    const data = await runData(config, { log: () => {} });
    const old = oldSplit(dev, 0.02, 5, 200);
    expect(data.human).toEqual(old.human);
    expect(data.unlabelled).toEqual(old.unlabelled);
  });

  it('the run hash is unchanged by the default selection (within a training revision) and changed by another', () => {
    const config = DistillConfig.parse({});
    const { cache: _c, select: _s, selectModel: _m, rounds: _r, ...teacher } = config.teacher;
    const phases = planPhases(config).map(({ name: _name, ...phase }) => phase);
    const before = stableHash({
      revision: TRAINING_REVISION,
      data: config.data,
      budget: config.budget,
      seed: config.seed,
      teacher,
      student: config.student,
      phases,
    }).slice(0, 16);
    expect(configHash(config)).toBe(before);
    const diverse = DistillConfig.parse({ teacher: { select: 'diversity' } });
    expect(configHash(diverse)).not.toBe(before);
    expect(configHash(DistillConfig.parse({ humanSelect: 'diversity' }))).not.toBe(configHash(diverse));
  });

  it('diversity covers more distinct words than first and random on CoNLL-2003 dev', () => {
    const k = 150;
    const div = selectIndices(tokens, k, { strategy: 'diversity', seed: 1 });
    const first = selectIndices(tokens, k, { strategy: 'first', seed: 1 });
    const rand = [1, 2, 3].map((seed) => selectIndices(tokens, k, { strategy: 'random', seed }));
    const counts = { diversity: distinct(div), first: distinct(first), random: rand.map(distinct) };
    // measured: diversity ≈ 2.5× the distinct words of a random or head sample of the same size
    expect(counts.diversity).toBeGreaterThan(1.5 * counts.first);
    for (const r of counts.random) expect(counts.diversity).toBeGreaterThan(1.5 * r);
    expect(coverage(tokens, div)).toBeGreaterThan(
      Math.max(coverage(tokens, first), ...rand.map((r) => coverage(tokens, r))),
    );
    // once everything is covered it fills up with a seeded sample instead of stopping short
    const small = tokens.slice(0, 20);
    expect(selectIndices(small, 19, { strategy: 'diversity', seed: 1 })).toHaveLength(19);
  });

  it('uncertainty picks the sentences a fixed probability source is least sure about', async () => {
    // word "doubt" gets a near-even split between two labels; every other word is certain
    const toy: ProbabilitySource = async (sentences) =>
      sentences.map((s) =>
        s.map((w) => (w === 'doubt' ? [0.45, 0.4, 0.15] : w === 'hm' ? [0.7, 0.2, 0.1] : [0.98, 0.01, 0.01])),
      );
    const pool = [['a', 'b'], ['doubt', 'x'], ['c'], ['hm', 'y'], ['x', 'y', 'z'], ['q', 'doubt'], []];
    const scores = await uncertaintyScores(toy, pool, 2);
    expect(scores[1]).toBeCloseTo(0.95);
    expect(scores[3]).toBeCloseTo(0.5);
    expect(scores[6]).toBe(0);
    expect(selectIndices(pool, 2, { strategy: 'uncertainty', seed: 1, scores })).toEqual([1, 5]);
    expect(selectIndices(pool, 3, { strategy: 'uncertainty', seed: 1, scores })).toEqual([1, 3, 5]);
    // a student that reports only its decoded label's probability: least confidence
    const student = predictorSource({
      predictSentences: async (s) => s.map((ws) => ({ tagProbs: ws.map((w) => (w === 'doubt' ? 0.55 : 0.99)) })),
    });
    const fromStudent = await uncertaintyScores(student, pool);
    expect(selectIndices(pool, 2, { strategy: 'uncertainty', seed: 2, scores: fromStudent })).toEqual([1, 5]);
    expect(sentenceUncertainty([[0.5, 0.5]])).toBe(1);
    expect(() => selectIndices(pool, 2, { strategy: 'uncertainty', seed: 1 })).toThrow(/one score per pool sentence/);
  });

  it('distill picks the teacher sentences by teacher.select, and the human ones by humanSelect', async () => {
    const base = { data: { train: dataPath('conll2003/dev.txt'), teacherLimit: 150 }, budget: 0.02, seed: 5 };
    const first = await runData(DistillConfig.parse(base), { log: () => {} });
    const diverse = await runData(DistillConfig.parse({ ...base, teacher: { select: 'diversity' } }), {
      log: () => {},
    });
    expect(diverse.human).toEqual(first.human);
    expect(diverse.unlabelled).toHaveLength(150);
    const words = (ss: Sentence[]) => new Set(ss.flatMap((s) => s.tokens)).size;
    expect(words(diverse.unlabelled)).toBeGreaterThan(1.5 * words(first.unlabelled));
    const humans = new Set(diverse.human);
    expect(diverse.unlabelled.some((s) => humans.has(s))).toBe(false);
    const hd = await runData(DistillConfig.parse({ ...base, humanSelect: 'diversity' }), { log: () => {} });
    expect(words(hd.human)).toBeGreaterThan(1.5 * words(first.human));
    expect(hd.unlabelled.some((s) => new Set(hd.human).has(s))).toBe(false);
  });
});

describe('selection config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nerd-select-'));
  const errorOf = (name: string, text: string): string => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    try {
      loadConfigFile(f, DistillConfig);
    } catch (e) {
      if (e instanceof InputError) return e.format();
      throw e;
    }
    throw new Error('no error');
  };

  it('defaults to first for the teacher and random for the human', () => {
    const c = DistillConfig.parse({});
    expect(c.teacher.select).toBe('first');
    expect(c.humanSelect).toBe('random');
  });

  it('a bad strategy or bad rounds is one line naming the file and line; uncertainty needs no model', () => {
    const bad = errorOf('bad.yaml', 'name: x\nteacher:\n  provider: sim\n  select: clever\n');
    expect(bad).toMatch(/bad\.yaml:4: config field teacher\.select: /);
    expect(bad.split('\n')).toHaveLength(1);
    const rounds = errorOf('rounds.yaml', 'teacher:\n  select: uncertainty\n  rounds: 0\n');
    expect(rounds).toMatch(/rounds\.yaml:3: config field teacher\.rounds: /);
    expect(rounds.split('\n')).toHaveLength(1);
    // a cold start: no humanSelectModel is needed (select-rounds.ts trains its own students)
    const f = path.join(dir, 'cold.yaml');
    writeFileSync(f, 'budget: 0.05\nhumanSelect: uncertainty\n');
    expect(loadConfigFile(f, DistillConfig).humanSelect).toBe('uncertainty');
  });
});
