/**
 * The trainer's data preparation and run plan (train.ts): the BIO label set of the data, per-word label ids and
 * confidence weights, sentences encoded into windows per source (prepare), the whole run as a list of steps with
 * the steps after which to evaluate (makeRunPlan: length-bucketed epochs, or a caller's own plan), the
 * fingerprint of data and settings that a resumed run must match, and a fresh classifier's start at the label
 * prior (initPriorBias).
 */
import type { Sentence } from '../corpus/types.js';
import { InputError } from '../errors.js';
import { planBatches, type Example } from './batches.js';
import { encodeSentences, type EncodedWindow, type WordPieceLike } from './align.js';
import type { TrainOptions, TrainSource } from './train-types.js';
import type { ParamMap } from './types.js';

/** BIO label set of some sentences: "O", then B-/I- for each entity type in sorted order */
export function labelSetOf(...corpora: ReadonlyArray<readonly Sentence[]>): string[] {
  const types = new Set<string>();
  for (const c of corpora) for (const s of c) for (const sp of s.spans) types.add(sp.label);
  return ['O', ...[...types].sort().flatMap((t) => [`B-${t}`, `I-${t}`])];
}

/** IOB2 label ids per word of a sentence; span confidences as per-word weights (undefined if none) */
export function wordLabels(
  s: Sentence,
  label2id: ReadonlyMap<string, number>,
): { ids: Int32Array; weights?: Float32Array } {
  const ids = new Int32Array(s.tokens.length); // 0 = O
  let weights: Float32Array | undefined;
  for (const sp of s.spans) {
    for (let t = sp.start; t < sp.end; t++) {
      const tag = `${t === sp.start ? 'B' : 'I'}-${sp.label}`;
      const id = label2id.get(tag);
      if (id === undefined) throw new Error(`label ${tag} is not in the model's label set`);
      ids[t] = id;
      if (sp.confidence !== undefined && sp.confidence !== 1) {
        weights ??= new Float32Array(s.tokens.length).fill(1);
        weights[t] = sp.confidence;
      }
    }
  }
  return { ids, weights };
}

function hashString(s: string, h = 2166136261): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** the settings a resumed run must share with the one that wrote OUT/last */
export interface FingerprintSettings {
  labels: string[];
  totalSteps: number;
  seed: number;
  batchSize: number;
  maxSeq: number;
  lr: number;
  warmup: number;
  entityWeight?: number;
}

/** hex hash of the run's settings and its prepared examples (lengths and first sub-words) */
export function runFingerprint(prepared: Prepared, o: FingerprintSettings): string {
  return hashString(
    JSON.stringify({
      labels: o.labels,
      totalSteps: o.totalSteps,
      seed: o.seed,
      batchSize: o.batchSize,
      maxSeq: o.maxSeq,
      lr: o.lr,
      warmup: o.warmup,
      ...(o.entityWeight !== undefined && o.entityWeight !== 1 ? { entityWeight: o.entityWeight } : {}),
      n: prepared.examples.length,
      h: prepared.examples.reduce((h, e) => hashString(String(e.inputIds.length) + ',' + e.inputIds[1], h), 0),
    }),
  ).toString(16);
}

export interface Prepared {
  sources: Array<{ name: string; weight: TrainSource['weight']; windows: EncodedWindow[]; bySentence: number[][] }>;
  examples: Example[];
  /** start of each source's windows in `examples` */
  offsets: number[];
}

export function prepare(
  sources: TrainSource[],
  wp: WordPieceLike,
  label2id: Map<string, number>,
  maxSeq: number,
  entityWeight = 1,
): Prepared {
  const out: Prepared = { sources: [], examples: [], offsets: [] };
  for (const src of sources) {
    const labels: Int32Array[] = [];
    const weights: Array<Float32Array | undefined> = [];
    src.sentences.forEach((s, i) => {
      try {
        const wl = wordLabels(s, label2id);
        labels.push(wl.ids);
        weights.push(wl.weights);
      } catch (err) {
        throw new InputError(`${src.name} sentence ${i + 1}: ${(err as Error).message}`, s.id ?? undefined, s.line);
      }
    });
    const windows = encodeSentences(
      src.sentences.map((s) => s.tokens),
      wp,
      { maxSeq, labels, wordWeights: weights },
    );
    if (entityWeight !== 1) {
      const o = label2id.get('O');
      for (const w of windows) {
        if (!w.labels) continue;
        w.tokenWeights ??= new Float32Array(w.labels.length).fill(1);
        for (let t = 0; t < w.labels.length; t++)
          if (w.labels[t]! >= 0 && w.labels[t] !== o) w.tokenWeights[t]! *= entityWeight;
      }
    }
    const bySentence: number[][] = src.sentences.map(() => []);
    out.offsets.push(out.examples.length);
    windows.forEach((w, k) => {
      bySentence[w.sentence]!.push(out.examples.length + k);
      w.source = src.name;
    });
    out.examples.push(...windows);
    out.sources.push({ name: src.name, weight: src.weight, windows, bySentence });
  }
  return out;
}

/** how many sub-words carry each label id in the examples (positions labelled -100 are not counted) */
export function labelCounts(examples: readonly Example[], nLabels: number): Float64Array {
  const counts = new Float64Array(nLabels);
  for (const e of examples) {
    if (!e.labels) continue;
    for (const l of e.labels) if (l >= 0 && l < nLabels) counts[l]!++;
  }
  return counts;
}

/** the log prior of each label, add-one smoothed: log((count + 1) / (total + labels)) */
export function priorBias(counts: ArrayLike<number>): Float32Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  return Float32Array.from({ length: counts.length }, (_, i) => Math.log((counts[i]! + 1) / (total + counts.length)));
}

/**
 * Starts a fresh classifier at the label prior of the training data: when `classifier.bias` is all zero (a head
 * that has never been trained: a preset's, or a new head on a checkpoint) it becomes the log prior of the
 * labels in `prepared`, so the first steps predict the label frequencies instead of a uniform guess. With rare
 * entities (WNUT-17: 91-95% of the labelled words are O) the uniform start spends its first, large gradients
 * on learning "mostly O" through the whole network, and the student stayed on the all-O plateau (loss flat at
 * the prior's entropy for 10 epochs); from the prior it left it at once (README, "What it measures here").
 * Returns a note for the log, or undefined when the bias was left as it was.
 */
export function initPriorBias(params: ParamMap, prepared: Prepared, labels: readonly string[]): string | undefined {
  const bias = params.get('classifier.bias')?.data;
  if (!bias || bias.length !== labels.length || bias.some((b) => b !== 0)) return undefined;
  const counts = labelCounts(prepared.examples, labels.length);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  bias.set(priorBias(counts));
  const o = labels.indexOf('O');
  return (
    `classifier bias set to the label prior of the training data` +
    (o >= 0 ? ` (O ${((100 * counts[o]!) / total).toFixed(1)}% of ${total} labelled sub-words)` : '')
  );
}

/** The whole run's steps as lists of example indices (+ per-example extra weights for custom plans). */
export interface RunPlan {
  steps: Array<{ idx: number[]; extra?: number[] }>;
  /** step index after which each evaluation happens (ascending) */
  evalAfter: number[];
  /** epoch number of each step (0-based), for messages */
  epochOf: (step: number) => number;
}

/** evaluate after every `every` steps and after the last one (indices of the steps after which to evaluate) */
function evalEveryN(nSteps: number, every: number): number[] {
  const evalAfter: number[] = [];
  for (let s = every; s < nSteps; s += every) evalAfter.push(s - 1);
  if (nSteps) evalAfter.push(nSteps - 1);
  return evalAfter;
}

export function makeRunPlan(
  p: Prepared,
  opts: Required<Pick<TrainOptions, 'epochs' | 'batchSize' | 'seed'>> & TrainOptions,
): RunPlan {
  const steps: RunPlan['steps'] = [];
  const epochStart: number[] = [];
  if (opts.plan) {
    const lengths: Record<string, number[]> = {};
    for (const s of p.sources)
      lengths[s.name] = s.bySentence.map((ws) => Math.max(0, ...ws.map((k) => p.examples[k]!.inputIds.length)));
    const plan = opts.plan({ lengths, batchSize: opts.batchSize, seed: opts.seed });
    const byName = new Map(p.sources.map((s) => [s.name, s]));
    for (const items of plan) {
      const idx: number[] = [];
      const extra: number[] = [];
      for (const it of items) {
        const src = byName.get(it.source);
        if (!src) throw new Error(`plan names unknown source "${it.source}"`);
        const ws = src.bySentence[it.index];
        if (!ws)
          throw new Error(`plan names sentence ${it.index} of "${it.source}", which has ${src.bySentence.length}`);
        for (const k of ws) {
          idx.push(k);
          extra.push(it.weight ?? 1);
        }
      }
      if (idx.length) steps.push({ idx, extra });
    }
    const every = opts.evalEvery ?? Math.max(1, Math.ceil(steps.length / Math.max(opts.epochs, 1)));
    return { steps, evalAfter: evalEveryN(steps.length, every), epochOf: (s) => Math.floor(s / every) };
  }
  const lengths = p.examples.map((e) => e.inputIds.length);
  for (let e = 0; e < opts.epochs; e++) {
    epochStart.push(steps.length);
    for (const idx of planBatches(lengths, {
      batchSize: opts.batchSize,
      maxTokens: opts.maxTokens,
      seed: opts.seed,
      epoch: e,
    })) {
      steps.push({ idx });
    }
  }
  let evalAfter: number[];
  if (opts.evalEvery) {
    evalAfter = evalEveryN(steps.length, opts.evalEvery);
  } else {
    evalAfter = epochStart.slice(1).map((s) => s - 1);
    if (steps.length) evalAfter.push(steps.length - 1);
  }
  return {
    steps,
    evalAfter,
    epochOf: (s) => {
      let e = 0;
      while (e + 1 < epochStart.length && epochStart[e + 1]! <= s) e++;
      return e;
    },
  };
}
