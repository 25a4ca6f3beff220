import { describe, expect, it } from 'vitest';
import {
  Rng,
  collate,
  makeBatches,
  mixSources,
  paddingShare,
  planBatches,
  type Example,
} from '../../src/student/batches.js';

function lengthsOf(n: number, seed = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 3 + rng.int(60));
}

function example(len: number, label = 1): Example {
  const ids = new Int32Array(len).map((_, i) => 100 + i);
  const labels = new Int32Array(len).fill(label);
  labels[0] = -100;
  labels[len - 1] = -100;
  return { inputIds: ids, labels };
}

describe('Rng', () => {
  it('is reproducible and restorable from its state', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    const state = a.getState();
    const next = a.next();
    expect(Rng.fromState(state).next()).toBe(next);
    expect(new Rng(43).nextU32()).not.toBe(new Rng(42).nextU32());
  });

  it('is roughly uniform', () => {
    const rng = new Rng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('derives distinct streams per key', () => {
    expect(Rng.derive(1, 0).nextU32()).not.toBe(Rng.derive(1, 1).nextU32());
    expect(Rng.derive(1, 5).nextU32()).toBe(Rng.derive(1, 5).nextU32());
  });
});

describe('planBatches', () => {
  const lengths = lengthsOf(1000);

  it('covers every example exactly once and respects the batch size', () => {
    const plan = planBatches(lengths, { batchSize: 16, seed: 1, epoch: 0 });
    const seen = plan.flat().sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (const b of plan) expect(b.length).toBeLessThanOrEqual(16);
  });

  it('is the same for the same seed and epoch, different otherwise', () => {
    const a = planBatches(lengths, { batchSize: 16, seed: 1, epoch: 0 });
    expect(planBatches(lengths, { batchSize: 16, seed: 1, epoch: 0 })).toEqual(a);
    expect(planBatches(lengths, { batchSize: 16, seed: 1, epoch: 1 })).not.toEqual(a);
    expect(planBatches(lengths, { batchSize: 16, seed: 2, epoch: 0 })).not.toEqual(a);
  });

  it('buckets by length: far less padding than a random order', () => {
    const bucketed = planBatches(lengths, { batchSize: 16, seed: 1, epoch: 0 });
    const random = new Rng(3).shuffle(Array.from({ length: 1000 }, (_, i) => i));
    const randomPlan: number[][] = [];
    for (let i = 0; i < random.length; i += 16) randomPlan.push(random.slice(i, i + 16));
    expect(paddingShare(lengths, bucketed)).toBeLessThan(0.1);
    expect(paddingShare(lengths, randomPlan)).toBeGreaterThan(0.3);
  });

  it('keeps a padded-token budget', () => {
    const plan = planBatches(lengths, { batchSize: 64, maxTokens: 400, seed: 1, epoch: 0 });
    for (const b of plan) {
      const max = Math.max(...b.map((i) => lengths[i]!));
      expect(b.length === 1 || max * b.length <= 400).toBe(true);
    }
    expect(plan.flat()).toHaveLength(1000);
  });

  it('keeps the input order without shuffle (evaluation)', () => {
    const plan = planBatches([5, 5, 5, 5, 5], { batchSize: 2, seed: 0, epoch: 0, shuffle: false });
    expect(plan).toEqual([[0, 1], [2, 3], [4]]);
  });
});

describe('collate', () => {
  it('pads ids, masks and labels and carries token and example weights', () => {
    const a = example(4);
    const b = { ...example(2), tokenWeights: new Float32Array([1, 1]), weight: 0.5 };
    const c = { ...example(3), tokenWeights: new Float32Array([1, 0.25, 1]) };
    const batch = collate([a, b, c], [0, 1, 2], { padId: 0 });
    expect(batch.batchSize).toBe(3);
    expect(batch.seqLen).toBe(4);
    expect(Array.from(batch.inputIds)).toEqual([100, 101, 102, 103, 100, 101, 0, 0, 100, 101, 102, 0]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0]);
    expect(Array.from(batch.labels!)).toEqual([-100, 1, 1, -100, -100, -100, -100, -100, -100, 1, -100, -100]);
    expect(Array.from(batch.weights!)).toEqual([1, 1, 1, 1, 0.5, 0.5, 0, 0, 1, 0.25, 1, 0]);
  });

  it('omits weights when all are 1 and pads to a fixed length on request', () => {
    const batch = collate([example(3)], [0], { padTo: 8 });
    expect(batch.weights).toBeUndefined();
    expect(batch.seqLen).toBe(8);
    expect(collate([example(3)], [0], { alwaysWeights: true }).weights).toBeDefined();
  });

  it('makeBatches returns every example once', () => {
    const exs = lengthsOf(100).map((l) => example(l));
    const batches = makeBatches(exs, { batchSize: 8, seed: 3, epoch: 2 });
    expect(batches.reduce((s, b) => s + b.batchSize, 0)).toBe(100);
    const real = batches.reduce((s, b) => s + b.attentionMask.reduce((x, y) => x + y, 0), 0);
    expect(real).toBe(exs.reduce((s, e) => s + e.inputIds.length, 0));
  });
});

describe('mixSources', () => {
  it('weights examples by their source, optionally as a function of progress', () => {
    const { examples, weightAt } = mixSources([
      { name: 'human', examples: [example(3)] },
      { name: 'teacher', examples: [example(3), { ...example(3), weight: 0.5 }], weight: (p) => 1 - p },
    ]);
    expect(examples.map((e) => e.source)).toEqual(['human', 'teacher', 'teacher']);
    const w0 = weightAt(0);
    const w1 = weightAt(0.75);
    expect(examples.map(w0)).toEqual([1, 1, 0.5]);
    expect(examples.map(w1)).toEqual([1, 0.25, 0.125]);
    const batch = collate(examples, [0, 1, 2], { weightOf: w1 });
    expect(batch.weights![3 + 1]).toBeCloseTo(0.25);
  });
});
