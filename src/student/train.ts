/**
 * The student's trainer: sentences in, a Hugging Face checkpoint out.
 *
 *   const result = await train({ out: 'runs/a', train: sentences, dev: devSentences, model: 'mini' });
 *
 * - labels: BIO tags of the entity types in the data (O first, then B-/I- per type in sorted order), or the
 *   label set of the checkpoint being continued (new types are appended, their classifier rows freshly
 *   initialised);
 * - batches: length-bucketed and seeded (batches.ts); per-token loss weights from span confidence (teacher
 *   data), per-source weights, or a caller's own step plan (`plan`) for mixing schedules;
 * - schedule: AdamW, linear warm-up then linear decay to 0 over the whole run;
 * - evaluation on `dev` after each epoch (or every `evalEvery` steps) with the conlleval-exact scorer; the best
 *   dev F1 is kept as `OUT/best/` (a shippable HF checkpoint with onnx/model.onnx); early stopping after
 *   `patience` evaluations without improvement;
 * - resume: `OUT/last/` holds params, AdamW moments, the step, the best score and the evaluation history,
 *   written atomically every `saveEvery` steps and at every evaluation. `resume: true` continues from it and
 *   gives the same parameters as an uninterrupted run (batches are a pure function of (seed, epoch); the
 *   engine's dropout is seeded per step).
 *
 * Continuing from an earlier run (distillation phase 2 after phase 1) is `model: 'OUT1/best'` with a fresh
 * optimiser and schedule.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sentence } from '../corpus/types.js';
import { InputError } from '../errors.js';
import { sharedDataPath } from '../package-info.js';
import { Progress, formatNumber, type ProgressOptions } from '../progress.js';
import { collate, planBatches, type Example } from './batches.js';
import { encodeSentences, wordPieceOf, type EncodedWindow, type WordPieceLike } from './align.js';
import { Predictor, labelsFromConfig } from './predict.js';
import { iob2Tags, scoreTagSequences } from '../score/score.js';
import {
  lastModelDir,
  loadModel,
  loadTrainingState,
  recoverDir,
  saveModel,
  saveTrainingState,
  type LoadedModel,
} from './train-state.js';
import { BertEngine } from './engine.js';
import { lrAt } from './optim.js';
import { isPresetName } from './presets.js';
import type { Batch, OptimizerSettings, OptimizerState, ParamMap, StepResult } from './types.js';

export interface TrainSource {
  /** e.g. "human", "teacher" */
  name: string;
  sentences: Sentence[];
  /** loss weight of this source's examples: a constant, or a function of training progress in [0, 1] */
  weight?: number | ((progress: number) => number);
}

/** one example of a step: sentence `index` of source `source`, with an optional extra loss weight */
export interface PlanItem {
  source: string;
  index: number;
  weight?: number;
}

export interface PlanContext {
  /** sub-word length of each sentence (its longest window), by source name */
  lengths: Record<string, number[]>;
  batchSize: number;
  seed: number;
}

/** a caller's own batches: the whole run as a list of steps (each a list of examples). Must be deterministic. */
export type PlanFn = (ctx: PlanContext) => PlanItem[][];

export interface TrainOptions {
  /** output folder: `best/` (HF checkpoint), `last/` (resume state), `history.json` */
  out: string;
  /** training sentences, or several named (weighted) sources */
  train: Sentence[] | TrainSource[];
  /** development sentences for per-epoch evaluation, best-checkpoint keeping and early stopping */
  dev?: Sentence[];
  /** a preset (tiny, mini, small, base) or a checkpoint folder (default "mini") */
  model?: string;
  /** vocab.txt for a preset (default ../shared/data/vocab/bert-base-cased-vocab.txt beside the package root) */
  vocab?: string;
  /** lower-case input (uncased vocabularies); presets only, checkpoints carry their own setting */
  lowercase?: boolean;
  /** fix the label set (BIO tags), e.g. when several runs must share one */
  labels?: string[];
  epochs?: number;
  /** peak learning rate (default 5e-4 from fresh weights, 5e-5 from a checkpoint) */
  lr?: number;
  /** warm-up: a fraction of all steps if < 1, else a number of steps (default 0.1) */
  warmup?: number;
  /** most sentences (windows) per batch (default 32) */
  batchSize?: number;
  /** most padded sub-words per batch (default: no budget) */
  maxTokens?: number;
  /** most sub-words per window including [CLS]/[SEP] (default 128) */
  maxSeq?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  seed?: number;
  /** stop after this many evaluations without a better dev F1 (0 = never; default 0) */
  patience?: number;
  /** onnxruntime intra-op threads (default 2: the engine's default, engine.ts) */
  threads?: number;
  /** continue from OUT/last if it exists */
  resume?: boolean;
  /** write OUT/last every this many steps (default 200; evaluations always write it) */
  saveEvery?: number;
  /** override the config's dropout (hidden and attention) */
  dropout?: number;
  /**
   * loss weight of the sub-words that carry an entity label (B-/I-), relative to O (default 1): > 1 keeps a
   * student on data with rare entities from collapsing to all-O
   */
  entityWeight?: number;
  /** the caller's own step plan (mixing schedules); default: length-bucketed epochs over all sources */
  plan?: PlanFn;
  /** evaluate every this many steps (default: once per epoch; with `plan`, steps / epochs) */
  evalEvery?: number;
  /** stop after this many steps in this call, leaving OUT/last to resume from (tests; "kill") */
  stopAfter?: number;
  /** stop (as if interrupted, resumable) once this many seconds have passed in this call */
  maxTimeS?: number;
  /** abort between steps (Ctrl-C): OUT/last is written first */
  signal?: AbortSignal;
  /** progress bar on stderr (default true), or its options */
  progress?: boolean | ProgressOptions;
  /** one-line messages (evaluations, saves); default: above the progress bar */
  log?: (line: string) => void;
  onEval?: (e: EvalRecord) => void | Promise<void>;
}

/** conlleval scores on the dev set (rates are fractions in [0, 1]) */
export interface DevScore {
  precision: number;
  recall: number;
  f1: number;
  types: Record<
    string,
    { precision: number; recall: number; f1: number; gold: number; found: number; correct: number }
  >;
}

/** what the trainer needs from the engine (src/student/engine.ts) */
export interface TrainEngine {
  trainStep(batch: Batch, lr: number, opt: OptimizerSettings): Promise<StepResult>;
  logits(batch: Batch): Promise<Float32Array>;
  readonly params: ParamMap;
  readonly optimizer: OptimizerState;
  inferenceModel(): Uint8Array;
  release(): Promise<void>;
}

export interface EvalRecord {
  step: number;
  epoch: number;
  /** mean training loss since the previous evaluation */
  trainLoss: number;
  dev?: DevScore;
  best: boolean;
  wallS: number;
}

export interface TrainResult {
  out: string;
  /** OUT/best: the checkpoint to ship (best dev F1, or the final weights without dev) */
  bestDir: string;
  labels: string[];
  steps: number;
  totalSteps: number;
  bestF1?: number;
  bestStep?: number;
  history: EvalRecord[];
  /** stopped by `patience` */
  stoppedEarly: boolean;
  /** stopped by `stopAfter` or `signal` before the end: resume with `resume: true` */
  interrupted: boolean;
  /** resumed from OUT/last at this step */
  resumedAt?: number;
  trainTokens: number;
  wallS: number;
}

/** state written to OUT/last/trainer_state.json */
export interface TrainerState {
  version: 1;
  step: number;
  totalSteps: number;
  fingerprint: string;
  labels: string[];
  bestF1: number | null;
  bestStep: number | null;
  badEvals: number;
  history: EvalRecord[];
  lossSum: number;
  lossCount: number;
  trainTokens: number;
  stoppedEarly: boolean;
  wallS: number;
}

export const DEFAULT_VOCAB = sharedDataPath('vocab/bert-base-cased-vocab.txt');

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

interface Prepared {
  sources: Array<{ name: string; weight: TrainSource['weight']; windows: EncodedWindow[]; bySentence: number[][] }>;
  examples: Example[];
  /** start of each source's windows in `examples` */
  offsets: number[];
}

function prepare(
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

/** The whole run's steps as lists of example indices (+ per-example extra weights for custom plans). */
interface RunPlan {
  steps: Array<{ idx: number[]; extra?: number[] }>;
  /** step index after which each evaluation happens (ascending) */
  evalAfter: number[];
  /** epoch number of each step (0-based), for messages */
  epochOf: (step: number) => number;
}

function makeRunPlan(
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
    const evalAfter: number[] = [];
    for (let s = every; s < steps.length; s += every) evalAfter.push(s - 1);
    if (steps.length) evalAfter.push(steps.length - 1);
    return { steps, evalAfter, epochOf: (s) => Math.floor(s / every) };
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
    evalAfter = [];
    for (let s = opts.evalEvery; s < steps.length; s += opts.evalEvery) evalAfter.push(s - 1);
    if (steps.length) evalAfter.push(steps.length - 1);
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

/** conlleval scores of a predictor on gold sentences */
export async function evaluate(predictor: Predictor, gold: readonly Sentence[]): Promise<DevScore> {
  const preds = await predictor.predictSentences(gold.map((s) => s.tokens));
  const r = scoreTagSequences(
    gold.map((s) => iob2Tags(s)),
    preds.map((p) => p.tags),
  );
  const types: DevScore['types'] = {};
  for (const [k, v] of Object.entries(r.types)) {
    types[k] = { precision: v.precision, recall: v.recall, f1: v.f1, gold: v.gold, found: v.found, correct: v.correct };
  }
  return { precision: r.precision, recall: r.recall, f1: r.f1, types };
}

/** Trains a token classifier; see the file comment. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const t0 = Date.now();
  const out = path.resolve(options.out);
  const lastDir = path.join(out, 'last');
  const bestDir = path.join(out, 'best');
  await mkdir(out, { recursive: true });
  const sources: TrainSource[] =
    Array.isArray(options.train) && options.train.length > 0 && 'sentences' in (options.train[0] as object)
      ? (options.train as TrainSource[])
      : [{ name: 'train', sentences: options.train as Sentence[] }];
  const dev = options.dev ?? [];
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  const maxSeqWanted = options.maxSeq ?? 128;
  const log = options.log;

  // ---- model: resume state, a checkpoint folder, or a preset with fresh weights
  if (options.resume) await recoverDir(lastDir);
  const resuming = options.resume === true && existsSync(path.join(lastDir, 'trainer_state.json'));
  const dataLabels = options.labels ?? labelSetOf(...sources.map((s) => s.sentences), dev);
  let model: LoadedModel;
  if (resuming) {
    model = await loadModel(lastModelDir(lastDir), { labels: undefined, seed });
  } else {
    model = await loadModel(options.model ?? 'mini', {
      labels: dataLabels,
      seed,
      vocab: options.vocab ?? DEFAULT_VOCAB,
      lowercase: options.lowercase,
      dropout: options.dropout,
      maxSeq: maxSeqWanted,
    });
  }
  const labels = labelsFromConfig(model.config);
  for (const l of dataLabels) {
    if (!labels.includes(l)) {
      throw new InputError(
        `the data has label ${l}, which the resumed model in ${lastDir} lacks; start afresh without --resume`,
      );
    }
  }
  const label2id = new Map(labels.map((l, i) => [l, i]));
  const maxSeq = Math.min(maxSeqWanted, model.config.max_position_embeddings);
  const wp = wordPieceOf(model.tokenizer);

  // ---- data and plan
  await wp.prepare?.(sources.flatMap((src) => src.sentences.flatMap((s) => s.tokens)));
  const prepared = prepare(sources, wp, label2id, maxSeq, options.entityWeight);
  if (prepared.examples.length === 0) throw new InputError('no training sentences');
  const runPlan = makeRunPlan(prepared, { ...options, epochs, batchSize, seed });
  const totalSteps = runPlan.steps.length;
  const warmupOpt = options.warmup ?? 0.1;
  const warmup = warmupOpt < 1 ? Math.round(warmupOpt * totalSteps) : Math.round(warmupOpt);
  const fromCheckpoint = !isPresetName(options.model ?? 'mini');
  const opt: OptimizerSettings = {
    lr: options.lr ?? (fromCheckpoint ? 5e-5 : 5e-4),
    weightDecay: options.weightDecay ?? 0.01,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    maxGradNorm: options.maxGradNorm ?? 1.0,
  };
  const fingerprint = hashString(
    JSON.stringify({
      labels,
      totalSteps,
      seed,
      batchSize,
      maxSeq,
      lr: opt.lr,
      warmup,
      ...(options.entityWeight !== undefined && options.entityWeight !== 1
        ? { entityWeight: options.entityWeight }
        : {}),
      n: prepared.examples.length,
      h: prepared.examples.reduce((h, e) => hashString(String(e.inputIds.length) + ',' + e.inputIds[1], h), 0),
    }),
  ).toString(16);

  let state: TrainerState = {
    version: 1,
    step: 0,
    totalSteps,
    fingerprint,
    labels,
    bestF1: null,
    bestStep: null,
    badEvals: 0,
    history: [],
    lossSum: 0,
    lossCount: 0,
    trainTokens: 0,
    stoppedEarly: false,
    wallS: 0,
  };
  let optimizerState = undefined;
  if (resuming) {
    const saved = await loadTrainingState(lastDir);
    if (saved.state.fingerprint !== fingerprint) {
      throw new InputError(
        `${lastDir} was written by a run with other data or settings (labels, batch size, epochs, lr, seed or max length differ); ` +
          'use the same options, or start afresh without --resume',
      );
    }
    state = saved.state;
    optimizerState = saved.optimizer;
  }
  const resumedAt = resuming ? state.step : undefined;

  const engine: TrainEngine = await BertEngine.create(model.config, model.params, {
    threads: options.threads,
    seed,
    optimizerState,
  });
  const predictor = new Predictor(wp, labels, (b) => engine.logits(b), { maxSeq, batchSize: 64, maxTokens: 8192 });

  const progressOpts: ProgressOptions | false =
    options.progress === false
      ? false
      : { label: 'train', unit: 'steps', ...(typeof options.progress === 'object' ? options.progress : {}) };
  const bar = progressOpts ? new Progress(totalSteps, progressOpts) : undefined;
  if (bar && state.step > 0) bar.resumeAt(state.step);
  const say = (line: string): void => {
    if (log) log(line);
    else if (bar) bar.log(line);
  };
  if (resuming) say(`resuming ${out} at step ${state.step}/${totalSteps}`);
  else {
    let nParams = 0;
    for (const t of model.params.values()) nParams += t.data.length;
    const c = model.config;
    say(
      `training ${options.model ?? 'mini'} (H${c.hidden_size}/L${c.num_hidden_layers}/A${c.num_attention_heads}, ` +
        `${(nParams / 1e6).toFixed(1)}M parameters, ${labels.length} labels) on ` +
        `${sources.map((s) => `${s.sentences.length} ${s.name}`).join(' + ')} sentences ` +
        `(${prepared.examples.length} windows of ≤ ${maxSeq} sub-words): ${totalSteps} steps, ` +
        `lr ${opt.lr} with ${warmup} warm-up steps` +
        (dev.length ? `, dev ${dev.length} sentences` : ''),
    );
    for (const note of model.notes) say(note);
  }

  const weightAt = (progress: number): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of prepared.sources) {
      m.set(s.name, s.weight === undefined ? 1 : typeof s.weight === 'number' ? s.weight : s.weight(progress));
    }
    return m;
  };
  const anyWeighted =
    prepared.examples.some((e) => e.tokenWeights) || sources.some((s) => s.weight !== undefined) || !!options.plan;

  const saveLast = async (): Promise<void> => {
    state.wallS += (Date.now() - segmentStart) / 1000;
    segmentStart = Date.now();
    await saveTrainingState(
      lastDir,
      { config: model.config, params: engine.params, tokenizer: model.tokenizer },
      engine.optimizer,
      state,
    );
  };
  let segmentStart = Date.now();
  let emaLoss: number | undefined;
  let tokensWindow = 0;
  let windowStart = Date.now();
  let interrupted = false;
  let stepsThisCall = 0;

  let collapseWarned = false; // said once per call
  const runEval = async (): Promise<void> => {
    const at = Math.max(state.step - 1, 0);
    const rec: EvalRecord = {
      step: state.step,
      epoch: runPlan.epochOf(at) + 1,
      trainLoss: state.lossCount ? state.lossSum / state.lossCount : NaN,
      best: false,
      wallS: state.wallS + (Date.now() - segmentStart) / 1000,
    };
    state.lossSum = 0;
    state.lossCount = 0;
    if (dev.length) {
      rec.dev = await evaluate(predictor, dev);
      const gold = Object.values(rec.dev.types).reduce((n, t) => n + t.gold, 0);
      const found = Object.values(rec.dev.types).reduce((n, t) => n + t.found, 0);
      if (gold > 0 && found === 0 && !collapseWarned) {
        collapseWarned = true;
        say(
          `warning: at step ${state.step} the student predicts no entity on dev (${gold} gold entities, 0 found, F1 0.00): ` +
            'it has collapsed to all-O, as students do when entities are rare; train longer, raise --entity-weight (e.g. 3), or add data with entities',
        );
      }
      if (state.bestF1 === null || rec.dev.f1 > state.bestF1) {
        state.bestF1 = rec.dev.f1;
        state.bestStep = state.step;
        state.badEvals = 0;
        rec.best = true;
        await saveModel(
          bestDir,
          { config: model.config, params: engine.params, tokenizer: model.tokenizer, engine },
          {
            dev: rec.dev,
            step: state.step,
            epoch: rec.epoch,
          },
        );
      } else {
        state.badEvals++;
        if (options.patience && state.badEvals >= options.patience) state.stoppedEarly = true;
      }
    }
    state.history.push(rec);
    say(
      `step ${rec.step}/${totalSteps} epoch ${rec.epoch}: train loss ${formatNumber(rec.trainLoss)}` +
        (rec.dev
          ? ` | dev P ${(100 * rec.dev.precision).toFixed(2)} R ${(100 * rec.dev.recall).toFixed(2)} F1 ${(100 * rec.dev.f1).toFixed(2)}${rec.best ? ' (best)' : ''}`
          : '') +
        (state.stoppedEarly ? ` | no better dev F1 in ${options.patience} evaluations: stopping` : ''),
    );
    await options.onEval?.(rec);
    await saveLast();
  };
  let timeUp = false;

  try {
    while (state.step < totalSteps && !state.stoppedEarly) {
      if (
        options.signal?.aborted ||
        (options.stopAfter !== undefined && stepsThisCall >= options.stopAfter) ||
        (timeUp = options.maxTimeS !== undefined && (Date.now() - t0) / 1000 >= options.maxTimeS)
      ) {
        interrupted = true;
        break;
      }
      const step = state.step;
      const planned = runPlan.steps[step]!;
      const progressFrac = totalSteps > 1 ? step / (totalSteps - 1) : 0;
      const srcW = weightAt(progressFrac);
      const batch = collate(prepared.examples, planned.idx, {
        padId: wp.padId,
        alwaysWeights: anyWeighted,
        weightOf: (ex) => (ex.weight ?? 1) * (srcW.get(ex.source ?? '') ?? 1),
      });
      if (planned.extra && batch.weights) {
        // per-example extra weights from the caller's plan (an example index may appear once per step)
        planned.idx.forEach((_exIdx, row) => {
          const w = planned.extra![row]!;
          if (w !== 1) for (let t = 0; t < batch.seqLen; t++) batch.weights![row * batch.seqLen + t]! *= w;
        });
      }
      const lr = lrAt(step, totalSteps, warmup, opt.lr);
      const res = await engine.trainStep(batch, lr, { ...opt, lr });
      if (!Number.isFinite(res.loss)) {
        throw new Error(`training diverged at step ${step + 1}: loss ${res.loss} (try a lower --lr)`);
      }
      const real = batch.attentionMask.reduce((a, b) => a + b, 0);
      state.trainTokens += real;
      tokensWindow += real;
      state.lossSum += res.loss;
      state.lossCount += 1;
      emaLoss = emaLoss === undefined ? res.loss : 0.95 * emaLoss + 0.05 * res.loss;
      state.step = step + 1;
      stepsThisCall++;
      const now = Date.now();
      const tokPerS = (tokensWindow * 1000) / Math.max(now - windowStart, 1);
      if (now - windowStart > 20_000) {
        tokensWindow = 0;
        windowStart = now;
      }
      bar?.update(state.step, {
        epoch: `${runPlan.epochOf(step) + 1}/${epochs}`,
        loss: emaLoss,
        'tok/s': Math.round(tokPerS),
        lr: lr,
      });

      if (runPlan.evalAfter.includes(step)) {
        await runEval();
      } else if (state.step % (options.saveEvery ?? 200) === 0) {
        await saveLast();
      }
    }
    if (interrupted) {
      // out of time: score what we have, so that best/ holds the best weights seen
      if (timeUp && state.lossCount > 0) await runEval();
      await saveLast();
      say(`stopped at step ${state.step}/${totalSteps}; resume with --resume`);
    } else if (!dev.length) {
      // without a dev set the final weights are the ones to ship
      await saveModel(
        bestDir,
        { config: model.config, params: engine.params, tokenizer: model.tokenizer, engine },
        {
          step: state.step,
        },
      );
    }
    if (!interrupted) {
      await saveLast();
      await writeFile(path.join(out, 'history.json'), `${JSON.stringify(state.history, null, 2)}\n`);
    }
  } finally {
    bar?.stop();
    await engine.release();
  }
  return {
    out,
    bestDir,
    labels,
    steps: state.step,
    totalSteps,
    bestF1: state.bestF1 ?? undefined,
    bestStep: state.bestStep ?? undefined,
    history: state.history,
    stoppedEarly: state.stoppedEarly,
    interrupted,
    resumedAt,
    trainTokens: state.trainTokens,
    wallS: (Date.now() - t0) / 1000,
  };
}
