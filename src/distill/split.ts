/**
 * The human-label budget: a seeded sample of the labelled pool keeps its gold labels (the "human" data); the
 * rest is handed to the teacher as unlabelled text, as a user with a few labelled sentences and a pile of
 * raw text would have it.
 */
import { Rng } from '../random.js';
import type { Sentence } from '../corpus/types.js';

export interface Split {
  human: Sentence[];
  /** gold labels kept only to score the teacher; the teacher never sees them */
  unlabelled: Sentence[];
}

/** `budget` ≤ 1 is a fraction of the pool, > 1 a sentence count. `teacherLimit` caps the unlabelled part (0 = all). */
export function splitByBudget(pool: readonly Sentence[], budget: number, seed: number, teacherLimit = 0): Split {
  const n = budget <= 1 ? Math.max(1, Math.round(budget * pool.length)) : Math.min(pool.length, Math.round(budget));
  const order = Rng.derive(seed, 0xb0d9e7).shuffle(Array.from({ length: pool.length }, (_, i) => i));
  const humanIdx = order.slice(0, n).sort((a, b) => a - b);
  let rest = order.slice(n);
  if (teacherLimit > 0) rest = rest.slice(0, teacherLimit);
  rest.sort((a, b) => a - b);
  return { human: humanIdx.map((i) => pool[i]!), unlabelled: rest.map((i) => pool[i]!) };
}
