import { describe, expect, it } from 'vitest';
import { DistillConfig } from '../../src/distill/config.js';
import { planBatches } from '../../src/distill/mixing.js';
import { planPhases } from '../../src/distill/strategies.js';

const cfg = (over: object) => DistillConfig.parse({ phase1: { epochs: 2 }, phase2: { epochs: 3 }, ...over });

describe('strategies and batch plans', () => {
  it('simple-mix trains on teacher data, then on human data only', () => {
    const [p1, p2] = planPhases(cfg({ strategy: 'simple-mix' }));
    expect([p1!.teacher, p1!.human, p2!.teacher, p2!.human]).toEqual([true, false, false, true]);
  });

  it('concat sees every example exactly once per epoch, length-bucketed', () => {
    const [phase] = planPhases(cfg({ strategy: 'concat' }));
    const lengths = Array.from({ length: 70 }, (_, i) => (i * 37) % 50);
    const steps = planBatches(phase!, 70, 130, {
      batchSize: 8,
      seed: 3,
      humanLengths: lengths,
      teacherLengths: Array(130).fill(10),
    });
    const seen = new Map<string, number>();
    for (const b of steps)
      for (const it of b) seen.set(`${it.source}${it.index}`, (seen.get(`${it.source}${it.index}`) ?? 0) + 1);
    expect(seen.size).toBe(200);
    expect([...seen.values()].every((n) => n === 2)).toBe(true); // 2 epochs
  });

  it('is reproducible from the seed and differs across seeds', () => {
    const [phase] = planPhases(cfg({ strategy: 'concat' }));
    const a = planBatches(phase!, 50, 50, { batchSize: 4, seed: 1 });
    const b = planBatches(phase!, 50, 50, { batchSize: 4, seed: 1 });
    const c = planBatches(phase!, 50, 50, { batchSize: 4, seed: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('a sigmoid phase 2 starts teacher-heavy and ends human-only', () => {
    const phases = planPhases(cfg({ strategy: 'sigmoid', schedule: { from: 0.75, to: 0 } }));
    const p2 = phases[1]!;
    expect(p2.blend.kind).toBe('share');
    const steps = planBatches(p2, 100, 1000, { batchSize: 16, seed: 1 });
    const share = (b: { source: string }[]) => b.filter((x) => x.source === 'teacher').length / b.length;
    expect(share(steps[0]!)).toBeCloseTo(0.75, 1);
    expect(share(steps.at(-1)!)).toBe(0);
    expect(steps.length).toBeGreaterThan(3 * Math.ceil(100 / 16)); // about 3 passes over the human data
  });

  it('a weight blend keeps batches whole and decays teacher weights', () => {
    const phases = planPhases(cfg({ strategy: 'power-decay', schedule: { applyTo: 'weight', from: 1, to: 0 } }));
    const steps = planBatches(phases[1]!, 20, 20, { batchSize: 4, seed: 1 });
    const tw = steps
      .map((b) => b.find((x) => x.source === 'teacher')?.weight)
      .filter((w) => w !== undefined) as number[];
    expect(tw[0]!).toBeGreaterThan(tw.at(-1)!);
    expect(
      steps
        .flat()
        .filter((x) => x.source === 'human')
        .every((x) => x.weight === 1),
    ).toBe(true);
  });
});

describe('human budget split', async () => {
  const { splitByBudget } = await import('../../src/distill/split.js');
  const pool = Array.from({ length: 1000 }, (_, i) => ({ tokens: [`w${i}`], spans: [] }));
  it('takes a seeded fraction as human data and the rest as unlabelled, disjoint', () => {
    const a = splitByBudget(pool, 0.05, 7);
    expect(a.human).toHaveLength(50);
    expect(a.unlabelled).toHaveLength(950);
    const ids = new Set(a.human.map((s) => s.tokens[0]));
    expect(a.unlabelled.some((s) => ids.has(s.tokens[0]))).toBe(false);
    expect(splitByBudget(pool, 0.05, 7)).toEqual(a);
    expect(splitByBudget(pool, 0.05, 8).human).not.toEqual(a.human);
  });
  it('accepts a sentence count and caps the teacher pool', () => {
    const a = splitByBudget(pool, 100, 1, 300);
    expect(a.human).toHaveLength(100);
    expect(a.unlabelled).toHaveLength(300);
  });
});
