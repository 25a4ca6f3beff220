/**
 * Turns a phase plan into the exact sequence of batches it trains on: which human and teacher examples go
 * into each step, and the loss-weight multiplier of each. Seeded, so the same config trains on the same
 * batches on every run (and a resumed run can skip the steps already done).
 */
import { Rng } from '../random.js';
import { planBatches as planLengthBuckets } from '../student/batches.js';
import { scheduleValue } from './schedule.js';
import type { PhasePlan } from './strategies.js';

export interface MixItem {
  source: 'human' | 'teacher';
  index: number;
  /** multiplies the example's own token weights (e.g. a decaying teacher weight) */
  weight: number;
}

export interface MixOptions {
  batchSize: number;
  /** seed of this phase's batch order (derive a different one per phase) */
  seed: number;
  /** sub-word length of each example, for length-bucketed batches (less padding); optional */
  humanLengths?: number[];
  teacherLengths?: number[];
}

export function planBatches(plan: PhasePlan, nHuman: number, nTeacher: number, opts: MixOptions): MixItem[][] {
  const human = plan.human ? nHuman : 0;
  const teacher = plan.teacher ? nTeacher : 0;
  if (plan.epochs === 0 || human + teacher === 0) return [];
  if (plan.blend.kind === 'share' && human > 0 && teacher > 0) return shareBatches(plan, human, teacher, opts);
  return concatBatches(plan, human, teacher, opts);
}

function concatBatches(plan: PhasePlan, nHuman: number, nTeacher: number, opts: MixOptions): MixItem[][] {
  // one example list, human first: index i < nHuman is human example i, else teacher example i - nHuman
  const lengths = [
    ...Array.from({ length: nHuman }, (_, i) => opts.humanLengths?.[i] ?? 0),
    ...Array.from({ length: nTeacher }, (_, i) => opts.teacherLengths?.[i] ?? 0),
  ];
  const steps: number[][] = [];
  for (let epoch = 0; epoch < plan.epochs; epoch++)
    steps.push(...planLengthBuckets(lengths, { batchSize: opts.batchSize, seed: opts.seed, epoch }));
  const blend = plan.blend;
  return steps.map((batch, step) => {
    const teacherWeight = blend.kind === 'weight' ? scheduleValue(blend.schedule, progress(step, steps.length)) : 1;
    return batch.map((i) =>
      i < nHuman
        ? { source: 'human' as const, index: i, weight: 1 }
        : { source: 'teacher' as const, index: i - nHuman, weight: teacherWeight },
    );
  });
}

function shareBatches(plan: PhasePlan, nHuman: number, nTeacher: number, opts: MixOptions): MixItem[][] {
  if (plan.blend.kind !== 'share') throw new Error('share blend expected');
  const schedule = plan.blend.schedule;
  // An epoch is about one pass over the human data: with a mean teacher share p̄ a batch holds (1 − p̄)·B
  // human examples on average.
  let meanShare = 0;
  for (let i = 0; i <= 100; i++) meanShare += scheduleValue(schedule, i / 100) / 101;
  const humanPerBatch = Math.max(1, opts.batchSize * (1 - Math.min(meanShare, 0.9)));
  const total = plan.epochs * Math.ceil(nHuman / humanPerBatch);
  const rng = Rng.derive(opts.seed, 0x5ead);
  const humanCycle = new Cycle(nHuman, rng);
  const teacherCycle = new Cycle(nTeacher, rng);
  const steps: MixItem[][] = [];
  for (let step = 0; step < total; step++) {
    const share = scheduleValue(schedule, progress(step, total));
    const k = Math.round(share * opts.batchSize);
    const batch: MixItem[] = [];
    for (let i = 0; i < k; i++) batch.push({ source: 'teacher', index: teacherCycle.next(), weight: 1 });
    for (let i = k; i < opts.batchSize; i++) batch.push({ source: 'human', index: humanCycle.next(), weight: 1 });
    steps.push(batch);
  }
  return steps;
}

function progress(step: number, total: number): number {
  return total <= 1 ? 0 : step / (total - 1);
}

/** Endless reshuffled passes over 0..n-1. */
class Cycle {
  private order: number[] = [];
  private at = 0;
  constructor(
    private readonly n: number,
    private readonly rng: Rng,
  ) {}
  next(): number {
    if (this.at >= this.order.length) {
      this.order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
      this.at = 0;
    }
    return this.order[this.at++]!;
  }
}
