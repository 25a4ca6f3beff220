/**
 * The human-label budget: a sample of the labelled pool keeps its gold labels (the "human" data); the rest
 * is handed to the teacher as unlabelled text, as a user with a few labelled sentences and a pile of raw
 * text would have it. Which sentences the human labels and which the teacher gets (within `teacherLimit`)
 * are chosen by the selection strategies of teacher/select.ts; the defaults (`random` for the human,
 * `first` of a seeded shuffle for the teacher) are the seeded samples this split always made.
 */
import { Rng } from '../random.js';
import type { Sentence } from '../corpus/types.js';
import { selectIndices, type SelectStrategy } from '../teacher/select.js';

export interface Split {
  human: Sentence[];
  /** gold labels kept only to score the teacher; the teacher never sees them */
  unlabelled: Sentence[];
}

export interface SplitSelect {
  /** which pool sentences the human budget labels (default `random`: a seeded sample) */
  human?: SelectStrategy;
  /** `uncertainty` for the human: one score per pool sentence */
  humanScores?: readonly number[];
  /** the human part, chosen already (cold-start uncertainty in rounds, select-rounds.ts); overrides `human` */
  humanIndices?: readonly number[];
}

/** the number of human sentences: `budget` ≤ 1 is a fraction of the pool, > 1 a sentence count */
export function humanCount(poolSize: number, budget: number): number {
  return budget <= 1 ? Math.max(1, Math.round(budget * poolSize)) : Math.min(poolSize, Math.round(budget));
}

/**
 * The human part (indices in pool order) and the rest: the teacher's candidates, in a seeded shuffled
 * order (so that `first` of them is a seeded sample, as it always was).
 */
export function humanPart(
  pool: readonly Sentence[],
  budget: number,
  seed: number,
  select: SplitSelect = {},
): { human: number[]; rest: number[] } {
  const n = humanCount(pool.length, budget);
  const order = Rng.derive(seed, 0xb0d9e7).shuffle(Array.from({ length: pool.length }, (_, i) => i));
  if (select.humanIndices) {
    const taken = new Set(select.humanIndices);
    return { human: [...select.humanIndices].sort((a, b) => a - b), rest: order.filter((i) => !taken.has(i)) };
  }
  const strategy = select.human ?? 'random';
  if (strategy === 'random') return { human: order.slice(0, n).sort((a, b) => a - b), rest: order.slice(n) };
  const human = selectIndices(
    pool.map((s) => s.tokens),
    n,
    { strategy, seed, ...(select.humanScores ? { scores: select.humanScores } : {}) },
  );
  const taken = new Set(human);
  return { human, rest: order.filter((i) => !taken.has(i)) };
}

/** `budget` ≤ 1 is a fraction of the pool, > 1 a sentence count. `teacherLimit` caps the unlabelled part (0 = all). */
export function splitByBudget(
  pool: readonly Sentence[],
  budget: number,
  seed: number,
  teacherLimit = 0,
  select: SplitSelect = {},
): Split {
  const { human, rest: order } = humanPart(pool, budget, seed, select);
  let rest = order;
  if (teacherLimit > 0) rest = rest.slice(0, teacherLimit);
  rest = [...rest].sort((a, b) => a - b);
  return { human: human.map((i) => pool[i]!), unlabelled: rest.map((i) => pool[i]!) };
}
