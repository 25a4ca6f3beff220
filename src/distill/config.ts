/**
 * One typed run config for `nerd distill` and `nerd experiment` (nanoGPT-style: everything a run depends on
 * is in this object), loadable from YAML or JSON, with every field defaulted so a config file only says what
 * differs.
 */
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { sharedDataPath } from '../package-info.js';
import { readText } from '../files.js';
import { SELECT_STRATEGIES } from '../teacher/select.js';

/** how sentences are chosen for a label (teacher/select.ts): first, random, diversity, uncertainty */
export const SelectStrategy = z.enum(SELECT_STRATEGIES);

/** How the teacher's share (or loss weight) falls over a phase, as a function of progress t in [0, 1]. */
export const Curve = z.enum(['constant', 'linear', 'exponential', 'sigmoid', 'power']);
export type Curve = z.infer<typeof Curve>;

export const ScheduleConfig = z
  .object({
    curve: Curve.default('constant'),
    /** teacher share/weight at the start of the phase */
    from: z.number().min(0).max(1).default(0.5),
    /** teacher share/weight at the end of the phase */
    to: z.number().min(0).max(1).default(0),
    /** power-decay exponent: value = to + (from - to) * (1 - t)^exponent */
    exponent: z.number().positive().default(2),
    /** sigmoid steepness: value = to + (from - to) / (1 + exp(steepness * (t - 0.5))) */
    steepness: z.number().positive().default(10),
    /** exponential decay rate: value = to + (from - to) * exp(-rate * t) */
    rate: z.number().positive().default(5),
    /** 'share': fraction of each batch drawn from teacher data; 'weight': loss weight of teacher tokens */
    applyTo: z.enum(['share', 'weight']).default('share'),
  })
  .strict();
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

export const Strategy = z.enum([
  'human-only', // baseline: human labels alone
  'teacher-only', // baseline: teacher labels alone
  'concat', // baseline: human + teacher in one phase
  'simple-mix', // the paper's best: phase 1 teacher, phase 2 human
  'mix', // phase 1 teacher, phase 2 human + teacher concatenated (or at a fixed ratio, see phase2.teacherShare)
  'sigmoid', // phase 1 teacher, phase 2 with the teacher share falling along a sigmoid
  'power-decay', // phase 1 teacher, phase 2 with the teacher share falling as (1 - t)^exponent
  'linear-decay',
  'exponential-decay',
]);
export type Strategy = z.infer<typeof Strategy>;

export const PhaseConfig = z
  .object({
    epochs: z.number().int().min(0).default(3),
    lr: z.number().positive().default(1e-3),
    warmup: z.number().min(0).max(1).default(0.1),
  })
  .strict();

export const TeacherConfig = z
  .object({
    /** 'sim' starts `nerd teacher-sim` on the gold labels in-process (offline stand-in for an LLM) */
    provider: z.enum(['sim', 'openai', 'gguf']).default('sim'),
    baseUrl: z.string().optional(),
    model: z.string().optional(),
    gguf: z.string().optional(),
    /** simulator noise preset or file (provider 'sim' only) */
    noise: z.string().default('default'),
    samples: z.number().int().min(1).default(1),
    batch: z.number().int().min(1).default(8),
    concurrency: z.number().int().min(1).default(8),
    temperature: z.number().min(0).optional(),
    maxCost: z.number().positive().optional(),
    /** spans whose vote share is below this are dropped */
    minConfidence: z.number().min(0).max(1).default(0),
    /** weight each teacher token's loss by its span's vote confidence */
    confidenceWeighting: z.boolean().default(false),
    /** SQLite response cache (resumes without paying twice) */
    cache: z.string().default('.nerd/teacher-cache.sqlite'),
    /** entity types; default: those of the human-labelled data (the human sentences and dev) */
    types: z.array(z.string()).min(1).optional(),
    definitions: z.string().optional(),
    /** which unlabelled sentences the teacher gets within data.teacherLimit ('first': of the seeded shuffle, as always) */
    select: SelectStrategy.default('first'),
    /** for select 'uncertainty': a student checkpoint to score them with (default: one trained on the human sentences) */
    selectModel: z.string().optional(),
    /**
     * for select 'uncertainty' without selectModel: rounds of selection; round r's student is trained on the human
     * sentences plus the teacher's labels of rounds before it (1 = one student, trained on the human sentences only);
     * also the rounds of a cold-start humanSelect 'uncertainty' (2 when this is 1)
     */
    rounds: z.number().int().min(1).default(1),
  })
  .strict();

export const StudentConfig = z
  .object({
    /** preset (tiny|mini|small|base) or a Hugging Face checkpoint folder */
    model: z.string().default('tiny'),
    vocab: z.string().default(sharedDataPath('vocab/bert-base-cased-vocab.txt')),
    batchSize: z.number().int().min(1).default(16),
    maxSeq: z.number().int().min(16).default(128),
    threads: z.number().int().min(1).default(2),
    patience: z.number().int().min(0).default(0),
  })
  .strict();

/**
 * Masked-LM pretraining of the student before phase 1 (student/pretrain.ts), on unlabelled text: the whole
 * training pool's text (labels unused; `data.unlabelled` when the human data is a file of its own) unless
 * `pool: false`, plus `files` (any corpus format or plain text). Cached by a hash of its inputs, so every
 * strategy and budget of an experiment shares one pretrained student (its own `seed`, not the run's).
 */
export const PretrainStageConfig = z
  .object({
    pool: z.boolean().default(true),
    files: z.array(z.string()).default([]),
    epochs: z.number().int().min(1).default(1),
    /** time budget in minutes: stop with the weights reached (the schedule is planned for `epochs`) */
    maxMinutes: z.number().positive().optional(),
    lr: z.number().positive().default(5e-4),
    batchSize: z.number().int().min(1).default(64),
    seed: z.number().int().default(1),
  })
  .strict();
export type PretrainStageConfig = z.infer<typeof PretrainStageConfig>;

export const DataConfig = z
  .object({
    /** labelled training pool: the human budget is sampled from it, the rest becomes unlabelled text */
    train: z.string().default(sharedDataPath('conll2003/train.txt')),
    /** alternatively, explicit human-labelled and unlabelled files (then `budget` is ignored) */
    human: z.string().optional(),
    unlabelled: z.string().optional(),
    dev: z.string().default(sharedDataPath('conll2003/dev.txt')),
    test: z.string().default(sharedDataPath('conll2003/test.txt')),
    /** cap on dev sentences used for model selection (speed); 0 = all */
    devLimit: z.number().int().min(0).default(0),
    /** cap on test sentences scored; 0 = all */
    testLimit: z.number().int().min(0).default(0),
    /** cap on unlabelled sentences sent to the teacher (cost); 0 = all */
    teacherLimit: z.number().int().min(0).default(0),
  })
  .strict();

export const DistillConfig = z
  .object({
    name: z.string().default('distill'),
    out: z.string().default('runs/distill'),
    seed: z.number().int().default(1),
    /** human-label budget: a fraction (0, 1] of the training pool, or a sentence count > 1 */
    budget: z.number().positive().default(0.01),
    strategy: Strategy.default('simple-mix'),
    data: DataConfig.prefault({}),
    teacher: TeacherConfig.prefault({}),
    student: StudentConfig.prefault({}),
    phase1: PhaseConfig.prefault({}),
    phase2: PhaseConfig.prefault({}),
    /** for 'mix': fixed teacher share per batch in phase 2 (omit = plain concatenation) */
    teacherShare: z.number().min(0).max(1).optional(),
    /** for the decay strategies: the curve's parameters (its `curve` is set by the strategy) */
    schedule: ScheduleConfig.prefault({}),
    /** masked-LM pretraining of the student before phase 1 (omit: start from `student.model` as it is) */
    pretrain: PretrainStageConfig.optional(),
    /** which pool sentences the human budget labels (default 'random': the seeded sample it always was) */
    humanSelect: SelectStrategy.default('random'),
    /**
     * for humanSelect 'uncertainty': a student checkpoint that scores the pool; omit for a cold start (a seeded
     * random first chunk, then rounds of students trained on the gold labels so far: teacher.rounds if > 1, else 2)
     */
    humanSelectModel: z.string().optional(),
  })
  .strict();
export type DistillConfig = z.infer<typeof DistillConfig>;

export const ExperimentConfig = z
  .object({
    name: z.string().default('experiment'),
    out: z.string().default('runs/experiment'),
    budgets: z.array(z.number().positive()).min(1).default([0.01, 0.05, 0.1, 1]),
    strategies: z.array(Strategy).min(1).default(['human-only', 'simple-mix']),
    seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
    /** selection axis: numbers of teacher sentences (`data.teacherLimit` of each run); omit = base's only */
    teacherLimits: z.array(z.number().int().min(0)).min(1).optional(),
    /** selection axis: `teacher.select` strategies; omit = base's only */
    teacherSelects: z.array(SelectStrategy).min(1).optional(),
    /** selection axis: `humanSelect` strategies; omit = base's only */
    humanSelects: z.array(SelectStrategy).min(1).optional(),
    /** the teacher's price for the report's $ axis, USD per 1M tokens; omit = the price table's for base.teacher.model */
    price: z
      .object({ input: z.number().min(0), output: z.number().min(0) })
      .strict()
      .optional(),
    /** the shared settings of every run (its budget, strategy, seed and selection are set by the grid) */
    base: DistillConfig.prefault({}),
  })
  .strict();
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;

/** Reads a YAML or JSON file; relative paths inside it resolve against the current directory. */
export function loadConfigFile<T>(file: string, schema: z.ZodType<T>): T {
  const text = readText(file, 'config');
  let raw: unknown;
  try {
    raw = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    const e = err as { linePos?: Array<{ line: number; col: number }>; message: string };
    const pos = e.linePos?.[0];
    throw new InputError(
      `not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`,
      file,
      pos?.line,
      pos?.col,
    );
  }
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || '(top level)';
    throw new InputError(`config field ${where}: ${issue.message}`, file, lineOfKey(text, issue.path));
  }
  return parsed.data;
}

/** Best-effort line of a (possibly nested) key in a YAML/JSON text, for error messages. */
function lineOfKey(text: string, keyPath: PropertyKey[]): number | undefined {
  const key = [...keyPath].reverse().find((k) => typeof k === 'string');
  if (typeof key !== 'string') return undefined;
  const lines = text.split(/\r?\n/);
  const re = new RegExp(`^\\s*"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*:`);
  const i = lines.findIndex((l) => re.test(l));
  return i >= 0 ? i + 1 : undefined;
}
