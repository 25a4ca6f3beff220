/**
 * Annotation selection: which sentences of a pool get a label — the teacher's (an LLM costs money per
 * sentence) or the human's (a budget of gold labels). Every strategy is a pure function of the pool, the
 * count, the seed and (for `uncertainty`) the scores, so a rerun picks the same sentences and the run's
 * caches stay valid.
 *
 *   - `first`: the first `k` sentences in pool order (the pool order is the caller's: `nerd distill` hands
 *     its seeded shuffle of the unlabelled part, so this is today's behaviour, unchanged);
 *   - `random`: a seeded uniform sample;
 *   - `diversity`: greedy coverage of the pool's vocabulary — each pick is the sentence that adds the most
 *     word types not yet covered, capitalised words counting double (they are where entities are), so rare
 *     contexts are not skipped. Coverage is submodular, so the greedy step is run lazily (a stale gain is an
 *     upper bound; only the top one is recomputed). Once nothing new is left, the rest is a seeded sample;
 *   - `uncertainty`: the `k` sentences a student is least sure about: per word, 1 − (p₁ − p₂), the margin
 *     between its two most likely labels; per sentence, the largest over its words (one doubtful word is
 *     enough to make a sentence worth labelling). The scores come from a student trained on what was
 *     labelled before; `nerd distill` can select in rounds, each scored by a student trained on what the
 *     rounds before it labelled (distill/select-rounds.ts, README "Choosing what to annotate").
 *
 * Ties are broken by a seeded random rank, so the seed matters even when scores tie. The picked indices are
 * returned in pool order.
 */
import { Rng } from '../random.js';

export const SELECT_STRATEGIES = ['first', 'random', 'diversity', 'uncertainty'] as const;
export type SelectStrategy = (typeof SELECT_STRATEGIES)[number];

/**
 * Per sentence, per word, the label probabilities (any order; only the two largest are used). A source
 * that knows only the decoded label's probability p may give [p, 1 − p]: the margin is then 2p − 1.
 */
export type ProbabilitySource = (sentences: readonly (readonly string[])[]) => Promise<number[][][]>;

/** a stream key of this module for Rng.derive, so its draws never coincide with another stage's */
const STREAM = 0x5e1ec7;

export interface SelectOptions {
  strategy: SelectStrategy;
  seed: number;
  /** `uncertainty` only: one score per pool sentence, higher = more worth labelling (uncertaintyScores) */
  scores?: readonly number[];
}

/** The indices (in pool order) of the `k` sentences to label; k ≥ pool size returns every index. */
export function selectIndices(pool: readonly (readonly string[])[], k: number, o: SelectOptions): number[] {
  const want = Math.max(0, Math.min(pool.length, Math.floor(k)));
  if (want === pool.length) return Array.from({ length: pool.length }, (_, i) => i);
  return ranked(pool, want, o).sort((a, b) => a - b);
}

/**
 * Every index of the pool, best first, in the strategy's order of picking (`nerd review --order`): its
 * first k are exactly `selectIndices(pool, k)` (greedy coverage picks the same prefix whatever k).
 */
export function orderIndices(pool: readonly (readonly string[])[], o: SelectOptions): number[] {
  return ranked(pool, pool.length, o);
}

/** the first `want` picks of a strategy, in the order picked */
function ranked(pool: readonly (readonly string[])[], want: number, o: SelectOptions): number[] {
  const n = pool.length;
  let picked: number[];
  switch (o.strategy) {
    case 'first':
      picked = Array.from({ length: want }, (_, i) => i);
      break;
    case 'random':
      picked = randomOrder(n, o.seed).slice(0, want);
      break;
    case 'diversity':
      picked = greedyCoverage(pool, want, o.seed);
      break;
    case 'uncertainty': {
      const scores = o.scores;
      if (!scores || scores.length !== n)
        throw new Error(
          `selection "uncertainty" needs one score per pool sentence (${n}), got ${scores?.length ?? 'none'}`,
        );
      const rank = tieRank(n, o.seed);
      picked = Array.from({ length: n }, (_, i) => i)
        .sort((a, b) => scores[b]! - scores[a]! || rank[a]! - rank[b]!)
        .slice(0, want);
      break;
    }
    default:
      throw new Error(`unknown selection strategy "${String(o.strategy)}" (one of ${SELECT_STRATEGIES.join(', ')})`);
  }
  return picked;
}

function randomOrder(n: number, seed: number): number[] {
  return Rng.derive(seed, STREAM, 1).shuffle(Array.from({ length: n }, (_, i) => i));
}

/** rank[i]: sentence i's place in a seeded random order (the tie-breaker) */
function tieRank(n: number, seed: number): Int32Array {
  const order = Rng.derive(seed, STREAM, 2).shuffle(Array.from({ length: n }, (_, i) => i));
  const rank = new Int32Array(n);
  order.forEach((s, r) => {
    rank[s] = r;
  });
  return rank;
}

const CAPITALISED = /^\p{Lu}/u;
const WORDLIKE = /[\p{L}\p{N}]/u;

/** a word type's weight in the coverage: 2 if capitalised, 1 for other words, 0 for punctuation */
export function typeWeight(word: string): number {
  if (!WORDLIKE.test(word)) return 0;
  return CAPITALISED.test(word) ? 2 : 1;
}

/** the weighted number of distinct word types the given sentences cover (what `diversity` maximises) */
export function coverage(pool: readonly (readonly string[])[], indices: readonly number[]): number {
  const seen = new Set<string>();
  let total = 0;
  for (const i of indices)
    for (const w of pool[i]!) {
      if (seen.has(w)) continue;
      seen.add(w);
      total += typeWeight(w);
    }
  return total;
}

/** lazy greedy max-coverage (CELF): a binary max-heap of (gain, rank, sentence), gains re-evaluated on top */
function greedyCoverage(pool: readonly (readonly string[])[], k: number, seed: number): number[] {
  const n = pool.length;
  const rank = tieRank(n, seed);
  const types = pool.map((s) => [...new Set(s)]);
  const covered = new Set<string>();
  const gainOf = (i: number) => {
    let g = 0;
    for (const w of types[i]!) if (!covered.has(w)) g += typeWeight(w);
    return g;
  };
  const gain = new Float64Array(n);
  const heap: number[] = [];
  const better = (a: number, b: number) => gain[a]! > gain[b]! || (gain[a] === gain[b] && rank[a]! < rank[b]!);
  const up = (j: number) => {
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (!better(heap[j]!, heap[p]!)) break;
      [heap[j], heap[p]] = [heap[p]!, heap[j]!];
      j = p;
    }
  };
  const down = (j: number) => {
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let m = j;
      if (l < heap.length && better(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && better(heap[r]!, heap[m]!)) m = r;
      if (m === j) return;
      [heap[j], heap[m]] = [heap[m]!, heap[j]!];
      j = m;
    }
  };
  for (let i = 0; i < n; i++) {
    gain[i] = gainOf(i);
    heap.push(i);
    up(heap.length - 1);
  }
  const picked: number[] = [];
  const fresh = new Uint8Array(n); // gain[i] is exact for the current `covered`
  while (picked.length < k && heap.length > 0) {
    const top = heap[0]!;
    if (gain[top] === 0) break; // nothing new anywhere: the rest is a seeded sample below
    if (!fresh[top]) {
      gain[top] = gainOf(top);
      fresh[top] = 1;
      down(0);
      continue;
    }
    picked.push(top);
    for (const w of types[top]!) covered.add(w);
    heap[0] = heap[heap.length - 1]!;
    heap.pop();
    if (heap.length > 0) down(0);
    fresh.fill(0);
  }
  if (picked.length < k) {
    const chosen = new Set(picked);
    for (const i of randomOrder(n, seed)) {
      if (picked.length >= k) break;
      if (!chosen.has(i)) picked.push(i);
    }
  }
  return picked;
}

/** a sentence's uncertainty from its words' label probabilities: max over words of 1 − (p₁ − p₂) */
export function sentenceUncertainty(words: readonly (readonly number[])[]): number {
  let worst = 0;
  for (const probs of words) {
    let p1 = 0;
    let p2 = 0;
    for (const p of probs) {
      if (p > p1) {
        p2 = p1;
        p1 = p;
      } else if (p > p2) p2 = p;
    }
    worst = Math.max(worst, 1 - (p1 - p2));
  }
  return worst;
}

/** uncertainty scores of a pool from a probability source, asked `chunk` sentences at a time (bounded memory) */
export async function uncertaintyScores(
  source: ProbabilitySource,
  pool: readonly (readonly string[])[],
  chunk = 512,
): Promise<number[]> {
  const scores: number[] = [];
  for (let i = 0; i < pool.length; i += chunk) {
    const part = pool.slice(i, i + chunk);
    const probs = await source(part);
    if (probs.length !== part.length)
      throw new Error(`the probability source returned ${probs.length} sentences for ${part.length}`);
    for (const words of probs) scores.push(sentenceUncertainty(words));
  }
  return scores;
}

/**
 * A probability source from a student (student/predict.ts `Predictor`, or anything with the same
 * `predictSentences`): each word's full label distribution from the student's softmax (`labelProbs`), so
 * the margin is between its two most likely labels. A source that reports only the decoded label's
 * probability p (no `labelProbs`) is read as [p, 1 − p]: the margin is then 2p − 1 (least confidence).
 */
export function predictorSource(predictor: {
  predictSentences(
    s: readonly (readonly string[])[],
    o?: { distributions?: boolean },
  ): Promise<Array<{ tagProbs: number[]; labelProbs?: number[][] }>>;
}): ProbabilitySource {
  return async (sentences) =>
    (await predictor.predictSentences(sentences, { distributions: true })).map(
      (p) => p.labelProbs ?? p.tagProbs.map((q) => [q, 1 - q]),
    );
}

/** scores (if needed) and selects in one step: `model` is a student checkpoint folder for `uncertainty` */
export async function selectWithModel(
  pool: readonly (readonly string[])[],
  k: number,
  o: { strategy: SelectStrategy; seed: number; model?: string; threads?: number; log?: (line: string) => void },
): Promise<number[]> {
  if (o.strategy !== 'uncertainty' || k >= pool.length) return selectIndices(pool, k, o);
  if (!o.model) throw new Error('selection "uncertainty" needs a student model to score the pool with');
  o.log?.(`select: scoring ${pool.length} sentences with the student ${o.model}`);
  const scores = await scoreWith(o.model, pool, o.threads);
  return selectIndices(pool, k, { ...o, scores });
}

/** uncertainty scores of `sentences` by the student checkpoint in `dir` (loaded for the call, then closed) */
export async function scoreWith(dir: string, sentences: readonly (readonly string[])[], threads?: number) {
  const { Predictor } = await import('../student/predict.js');
  const predictor = await Predictor.load(dir, { threads });
  try {
    return await uncertaintyScores(predictorSource(predictor), sentences);
  } finally {
    await predictor.close();
  }
}

/**
 * `nerd annotate --select`: the `count` sentences of a corpus file to annotate, in file order. Selection
 * needs the whole pool, so the file is read into memory (without --select the job streams it).
 */
export async function selectFromFile(
  file: string,
  o: {
    strategy: SelectStrategy;
    count: number;
    seed: number;
    model?: string;
    threads?: number;
    log?: (line: string) => void;
  },
) {
  const { readCorpus } = await import('../corpus/index.js');
  const pool = readCorpus(file).corpus.sentences;
  const picked = await selectWithModel(
    pool.map((s) => s.tokens),
    o.count,
    o,
  );
  o.log?.(`annotate: ${picked.length} of ${pool.length} sentences chosen by '${o.strategy}' (seed ${o.seed})`);
  return picked.map((i) => pool[i]!);
}

/** `nerd review --order`: the pool's indices best first, scored with `model` for `uncertainty` */
export async function orderWithModel(
  pool: readonly (readonly string[])[],
  o: { strategy: SelectStrategy; seed: number; model?: string; threads?: number },
): Promise<number[]> {
  if (o.strategy !== 'uncertainty') return orderIndices(pool, o);
  if (!o.model) throw new Error('order "uncertainty" needs a student model to score the sentences with');
  const { Predictor } = await import('../student/predict.js');
  const predictor = await Predictor.load(o.model, { threads: o.threads });
  try {
    return orderIndices(pool, { ...o, scores: await uncertaintyScores(predictorSource(predictor), pool) });
  } finally {
    await predictor.close();
  }
}
