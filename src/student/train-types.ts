/**
 * The trainer's types (train.ts): its options and sources, a caller's step plan (PlanFn), the dev scores and
 * evaluation records it reports, its result, what it needs from the engine, and the trainer state written to
 * OUT/last/trainer_state.json for resuming (read and written by train-state.ts), and that state's value before the first step.
 */
import type { Sentence } from '../corpus/types.js';
import type { ProgressOptions } from '../progress.js';
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
  /** peak learning rate (default 5e-4 from fresh weights or a `nerd pretrain` checkpoint, 5e-5 from any other) */
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
  /**
   * start a fresh classifier (bias all zero) at the log prior of the training labels (default true; false: the
   * zero bias of a Hugging Face head). Keeps a student on data with rare entities off the all-O plateau.
   */
  priorBias?: boolean;
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

/** the trainer state of a run that has not taken a step */
export function freshTrainerState(totalSteps: number, fingerprint: string, labels: string[]): TrainerState {
  return {
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
}
