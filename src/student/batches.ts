/**
 * Length-bucketed, seeded batches for training and evaluation.
 *
 * An `Example` is one sub-word sequence ready for the model ([CLS] ... [SEP], labels on first sub-words,
 * -100 elsewhere) with optional per-token loss weights (teacher span confidence) and a per-example weight
 * (e.g. the share given to one data source). Batching is split in two pure steps so that callers can
 * change either one:
 *
 *   planBatches(lengths, opts)      → number[][]   which examples go together, in which order
 *   collate(examples, indices, ...) → Batch        the padded tensors of one batch
 *
 * `planBatches` shuffles the examples with a PRNG seeded by (seed, epoch), cuts the shuffled order into
 * pools of ~`poolBatches` batches, sorts each pool by length and cuts it into batches (by a sentence count
 * and/or a padded-token budget), then shuffles the batch order. Little padding, still random, and the same
 * plan for the same (seed, epoch, lengths) on every run — which is what makes resume-after-kill exact.
 */
import { Rng } from '../random.js';
import type { Batch } from './types.js';

/** one training/eval sequence */
export interface Example {
  /** sub-word ids including [CLS] and [SEP] */
  inputIds: Int32Array;
  /** label id per sub-word, -100 where ignored; absent for prediction */
  labels?: Int32Array;
  /** per-sub-word loss weight (e.g. the confidence of the teacher span covering the word); default 1 */
  tokenWeights?: Float32Array;
  /** weight of the whole example (multiplies tokenWeights); default 1 */
  weight?: number;
  /** data source name, for mixing schedules (e.g. "teacher", "human") */
  source?: string;
  /** index of the sentence this example came from, and of the window within it (long sentences) */
  sentence?: number;
  window?: number;
}

// the project's seeded generator (src/random.ts), re-exported for the trainer's callers
export { Rng };

// ---------------------------------------------------------------------------------------------------------
// Planning

export interface PlanOptions {
  /** most examples per batch */
  batchSize: number;
  /** most padded tokens (rows × longest row) per batch; 0/undefined = no budget */
  maxTokens?: number;
  seed: number;
  epoch: number;
  /** false: keep the input order (evaluation), still length-sorted if `sortByLength` */
  shuffle?: boolean;
  /** how many batches' worth of examples are sorted together (default 50); 0 = sort everything */
  poolBatches?: number;
}

/**
 * Groups example indices into batches. Reproducible: the result depends only on `lengths` and the options.
 */
export function planBatches(lengths: ArrayLike<number>, opts: PlanOptions): number[][] {
  const n = lengths.length;
  if (!(opts.batchSize >= 1)) throw new Error(`batchSize must be ≥ 1, got ${opts.batchSize}`);
  const shuffle = opts.shuffle ?? true;
  const rng = Rng.derive(opts.seed, opts.epoch, 0x6261);
  const order = Array.from({ length: n }, (_, i) => i);
  if (shuffle) rng.shuffle(order);
  const poolSize = (opts.poolBatches ?? 50) > 0 ? opts.batchSize * (opts.poolBatches ?? 50) : n;
  const batches: number[][] = [];
  for (let p = 0; p < n; p += poolSize) {
    const pool = order.slice(p, p + poolSize);
    // stable sort by length (ties keep the shuffled order)
    pool.sort((a, b) => lengths[a]! - lengths[b]! || 0);
    let cur: number[] = [];
    let curMax = 0;
    for (const i of pool) {
      const len = lengths[i]!;
      const newMax = Math.max(curMax, len);
      const overBudget = opts.maxTokens ? newMax * (cur.length + 1) > opts.maxTokens : false;
      if (cur.length > 0 && (cur.length >= opts.batchSize || overBudget)) {
        batches.push(cur);
        cur = [];
        curMax = 0;
      }
      cur.push(i);
      curMax = Math.max(curMax, len);
    }
    if (cur.length > 0) batches.push(cur);
  }
  if (shuffle) rng.shuffle(batches);
  return batches;
}

// ---------------------------------------------------------------------------------------------------------
// Collation

export interface CollateOptions {
  /** [PAD] id (default 0) */
  padId?: number;
  /** pad every batch to this length instead of its longest row (fixed shapes) */
  padTo?: number;
  /** weight of an example at collation time (e.g. a schedule over training progress); default ex.weight ?? 1 */
  weightOf?: (ex: Example) => number;
  /** always emit `weights`, even when all are 1 (default: only when some weight differs from 1) */
  alwaysWeights?: boolean;
}

/** The padded [rows, seqLen] tensors of the examples at `indices`. */
export function collate(examples: readonly Example[], indices: readonly number[], opts: CollateOptions = {}): Batch {
  const rows = indices.map((i) => {
    const ex = examples[i];
    if (!ex) throw new Error(`collate: no example ${i}`);
    return ex;
  });
  const longest = rows.reduce((m, ex) => Math.max(m, ex.inputIds.length), 0);
  const seqLen = Math.max(opts.padTo ?? 0, longest, 1);
  const B = rows.length;
  const inputIds = new Int32Array(B * seqLen).fill(opts.padId ?? 0);
  const attentionMask = new Int32Array(B * seqLen);
  const hasLabels = rows.some((ex) => ex.labels);
  const labels = hasLabels ? new Int32Array(B * seqLen).fill(-100) : undefined;
  const weights = new Float32Array(B * seqLen);
  let anyWeight = false;
  rows.forEach((ex, r) => {
    const off = r * seqLen;
    const len = ex.inputIds.length;
    inputIds.set(ex.inputIds, off);
    attentionMask.fill(1, off, off + len);
    if (labels && ex.labels) labels.set(ex.labels, off);
    const w = opts.weightOf ? opts.weightOf(ex) : (ex.weight ?? 1);
    for (let t = 0; t < len; t++) {
      const tw = (ex.tokenWeights ? ex.tokenWeights[t]! : 1) * w;
      weights[off + t] = tw;
      if (tw !== 1 && (!ex.labels || ex.labels[t] !== -100)) anyWeight = true;
    }
  });
  const batch: Batch = { batchSize: B, seqLen, inputIds, attentionMask };
  if (labels) batch.labels = labels;
  if (labels && (anyWeight || opts.alwaysWeights)) batch.weights = weights;
  return batch;
}

export interface MakeBatchesOptions extends PlanOptions, CollateOptions {}

/** plan + collate in one call: the batches of one epoch */
export function makeBatches(examples: readonly Example[], opts: MakeBatchesOptions): Batch[] {
  const plan = planBatches(
    examples.map((e) => e.inputIds.length),
    opts,
  );
  return plan.map((idx) => collate(examples, idx, opts));
}

/** padding share of a plan: 1 − real tokens / padded tokens */
export function paddingShare(lengths: ArrayLike<number>, plan: readonly number[][]): number {
  let real = 0;
  let padded = 0;
  for (const b of plan) {
    let max = 0;
    for (const i of b) {
      real += lengths[i]!;
      max = Math.max(max, lengths[i]!);
    }
    padded += max * b.length;
  }
  return padded === 0 ? 0 : 1 - real / padded;
}

// ---------------------------------------------------------------------------------------------------------
// Several weighted sources

export interface Source {
  name: string;
  examples: Example[];
  /** constant weight, or a function of training progress in [0, 1] (e.g. sigmoid or power decay) */
  weight?: number | ((progress: number) => number);
}

/**
 * Concatenates several sources into one example list (each example tagged with its source) and returns a
 * `weightOf(progress)` factory for `collate`, so a batch built at training progress p weights each example by
 * its source's weight at p. Sampling shares (rather than loss weights) can be done with a custom plan.
 */
export function mixSources(sources: readonly Source[]): {
  examples: Example[];
  weightAt: (progress: number) => (ex: Example) => number;
} {
  const examples: Example[] = [];
  const weights = new Map<string, Source['weight']>();
  for (const s of sources) {
    if (weights.has(s.name)) throw new Error(`duplicate source name "${s.name}"`);
    weights.set(s.name, s.weight);
    for (const ex of s.examples) examples.push({ ...ex, source: s.name });
  }
  return {
    examples,
    weightAt: (progress) => {
      const byName = new Map<string, number>();
      for (const [name, w] of weights) byName.set(name, w === undefined ? 1 : typeof w === 'number' ? w : w(progress));
      return (ex) => (ex.weight ?? 1) * (ex.source !== undefined ? (byName.get(ex.source) ?? 1) : 1);
    },
  };
}
