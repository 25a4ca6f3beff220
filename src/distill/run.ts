/**
 * `nerd distill`: one run of the paper's method.
 *
 *   1. data: the human-labelled sentences (a seeded budget of the labelled pool, or a file of their own) and
 *      the unlabelled text the teacher annotates;
 *   2. teacher: annotate the unlabelled text (cached in SQLite, so a rerun pays nothing twice), score the
 *      teacher's labels against the gold ones when the text has them;
 *   3. student: the strategy's phases in turn (each continues from the previous phase's best checkpoint),
 *      with the strategy's batch plan;
 *   4. test: conlleval-exact scores of the final checkpoint, written with the run's config as report.json.
 *
 * Every step resumes: the teacher from its cache, each phase from its own `last/` state.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readCorpus } from '../corpus/index.js';
import { writeFileAtomic } from '../files.js';
import type { Sentence } from '../corpus/types.js';
import { Predictor } from '../student/predict.js';
import { train } from '../student/train.js';
import { evaluate } from '../student/train-eval.js';
import { labelSetOf } from '../student/train-plan.js';
import type { DevScore } from '../student/train-types.js';
import type { AnnotateStats } from '../teacher/annotate.js';
import type { DistillConfig } from './config.js';
import { stableHash } from './experiment.js';
import { TRAINING_REVISION } from './revision.js';
import { planBatches } from './mixing.js';
import type { CurvePoint, RunResult, ScoreSummary } from './results.js';
import { selectData, selectionKey } from './select-stage.js';
import { planPhases, usesTeacher } from './strategies.js';
import { pretrainedStudent } from './pretrain-stage.js';
import { teach } from './teach-stage.js';

export interface DistillOptions {
  /**
   * Where phases are trained, each in a folder named by a hash of everything it depends on (default: the
   * run's `out`). An experiment passes one folder for all its runs, so a phase that several strategies share
   * (phase 1 on the teacher's labels, for the same budget and seed) is trained once.
   */
  phaseDir?: string;
  log?: (line: string) => void;
  /** progress bars on stderr (default true) */
  progress?: boolean;
  signal?: AbortSignal;
}

export interface DistillOutcome extends RunResult {
  /** the final student: a Hugging Face checkpoint folder with onnx/model.onnx */
  checkpoint: string;
  teacherStats?: AnnotateStats;
}

const corpusMemo = new Map<string, Sentence[]>();

/** Reads a corpus once per process (an experiment runs many configs over the same files). */
export function loadSentences(file: string): Sentence[] {
  const key = path.resolve(file);
  let s = corpusMemo.get(key);
  if (!s) {
    s = readCorpus(file).corpus.sentences;
    corpusMemo.set(key, s);
  }
  return s;
}

const head = <T>(xs: T[], n: number) => (n > 0 ? xs.slice(0, n) : xs);

export function toSummary(s: DevScore): ScoreSummary {
  return { precision: s.precision, recall: s.recall, f1: s.f1, types: s.types };
}

/**
 * The data of a run: human-labelled sentences and the (gold-carrying, where known) unlabelled ones, chosen
 * by `humanSelect` and `teacher.select` (select-stage.ts; the defaults pick what split.ts always picked).
 */
export async function runData(
  config: DistillConfig,
  opts: DistillOptions = {},
): Promise<{ human: Sentence[]; unlabelled: Sentence[]; dev: Sentence[]; test: Sentence[] }> {
  const d = config.data;
  const dev = head(loadSentences(d.dev), d.devLimit);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const stage = {
    dir: opts.phaseDir ?? config.out,
    log,
    ...(opts.progress !== undefined ? { progress: opts.progress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const { human, unlabelled } = d.human
    ? await selectData(
        config,
        { human: loadSentences(d.human), candidates: d.unlabelled ? loadSentences(d.unlabelled) : [], dev },
        stage,
      )
    : await selectData(config, { pool: loadSentences(d.train), dev }, stage);
  return { human, unlabelled, dev, test: head(loadSentences(d.test), d.testLimit) };
}

export async function runDistill(config: DistillConfig, opts: DistillOptions = {}): Promise<DistillOutcome> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const started = Date.now();
  const { human, unlabelled: pool, dev, test } = await runData(config, { ...opts, log });
  const phases = planPhases(config);
  let unlabelled = pool;
  if (usesTeacher(config.strategy) && unlabelled.length === 0) {
    // e.g. a 100% budget: there is no other text, so the teacher labels the human sentences themselves
    log('distill: no unlabelled text left; the teacher annotates the human-labelled sentences instead');
    unlabelled = human;
  }
  log(
    `distill: ${config.strategy}, ${human.length} human-labelled sentences, ${usesTeacher(config.strategy) ? `${unlabelled.length} for the teacher, ` : ''}dev ${dev.length}, test ${test.length}`,
  );

  let teacherSentences: Sentence[] = [];
  let teacher: ScoreSummary | undefined;
  let teacherStats: AnnotateStats | undefined;
  if (usesTeacher(config.strategy)) {
    const t = await teach(config, unlabelled, human, dev, opts);
    teacherSentences = t.teacherSentences;
    teacherStats = t.stats;
    if (t.teacherScore)
      teacher = {
        precision: t.teacherScore.precision,
        recall: t.teacherScore.recall,
        f1: t.teacherScore.f1,
        types: t.teacherScore.types,
      };
    if (teacher) log(`distill: teacher F1 on its ${unlabelled.length} sentences: ${(100 * teacher.f1).toFixed(1)}`);
  }

  // one label set for every phase, so phase 2 continues phase 1's classifier
  const labels = labelSetOf(human, teacherSentences, dev);
  let model = await pretrainedStudent(config, {
    dir: opts.phaseDir ?? config.out,
    log,
    progress: opts.progress,
    signal: opts.signal,
  });
  let bestDir = '';
  const curve: CurvePoint[] = [];
  // a phase's identity: its inputs and every phase before it (not the run's name, folder or strategy name)
  const {
    out: _out,
    name: _name,
    strategy: _strategy,
    phase1: _p1,
    phase2: _p2,
    schedule: _sch,
    teacherShare: _ts,
    teacher: teacherConfig,
    humanSelect: _hs,
    humanSelectModel: _hsm,
    ...shared
  } = config;
  const { cache: _cache, select: _sel, selectModel: _selm, rounds: _rounds, ...teacherInputs } = teacherConfig;
  // selection joins the identity only when it is not the default, so the phases of older runs (of the same TRAINING_REVISION) stay cached
  let lineage = stableHash({
    revision: TRAINING_REVISION,
    ...shared,
    teacher: teacherInputs,
    labels,
    ...selectionKey(config),
  });
  for (const [i, phase] of phases.entries()) {
    const { name: _phaseName, ...phaseInputs } = phase;
    lineage = stableHash({ lineage, i, phaseInputs });
    const phaseOut = path.join(opts.phaseDir ?? config.out, `phase${i + 1}-${lineage.slice(0, 12)}`);
    const sources = [
      ...(phase.human ? [{ name: 'human', sentences: human }] : []),
      ...(phase.teacher ? [{ name: 'teacher', sentences: teacherSentences }] : []),
    ];
    if (sources.every((s) => s.sentences.length === 0) || phase.epochs === 0) {
      log(`distill: ${phase.name} has no data or no epochs; skipped`);
      continue;
    }
    log(
      `distill: ${phase.name}: ${sources.map((s) => `${s.sentences.length} ${s.name}`).join(' + ')} sentences, ${phase.epochs} epochs, lr ${phase.lr}, blend ${phase.blend.kind}`,
    );
    const result = await train({
      out: phaseOut,
      train: sources,
      dev,
      model,
      vocab: config.student.vocab,
      labels,
      epochs: phase.epochs,
      lr: phase.lr,
      warmup: phase.warmup,
      batchSize: config.student.batchSize,
      maxSeq: config.student.maxSeq,
      seed: config.seed * 1000 + i,
      patience: config.student.patience,
      threads: config.student.threads,
      resume: true,
      plan: (ctx) =>
        planBatches(phase, phase.human ? human.length : 0, phase.teacher ? teacherSentences.length : 0, {
          batchSize: ctx.batchSize,
          seed: ctx.seed,
          humanLengths: ctx.lengths.human,
          teacherLengths: ctx.lengths.teacher,
        }),
      progress: opts.progress ?? true,
      log,
      signal: opts.signal,
    });
    if (result.interrupted) throw new Error(`${phase.name} was interrupted; rerun the same command to resume it`);
    for (const e of result.history)
      curve.push({ phase: phase.name, epoch: e.epoch, step: e.step, loss: e.trainLoss, devF1: e.dev?.f1 ?? NaN });
    model = result.bestDir;
    bestDir = result.bestDir;
  }
  if (!bestDir) throw new Error(`strategy ${config.strategy} trained nothing: no data for any of its phases`);

  const predictor = await Predictor.load(bestDir, { threads: config.student.threads });
  const testScore = toSummary(await evaluate(predictor, test));
  const devScore = toSummary(await evaluate(predictor, dev));
  const outcome: DistillOutcome = {
    key: '',
    budget: config.budget,
    strategy: config.strategy,
    seed: config.seed,
    humanSentences: phases.some((p) => p.human) ? human.length : 0,
    teacherSentences: teacherSentences.length,
    test: testScore,
    dev: devScore,
    ...(teacher ? { teacher } : {}),
    curve,
    seconds: (Date.now() - started) / 1000,
    configHash: '',
    checkpoint: bestDir,
    ...(teacherStats ? { teacherStats } : {}),
  };
  mkdirSync(config.out, { recursive: true });
  writeFileAtomic(path.join(config.out, 'report.json'), `${JSON.stringify({ config, ...outcome }, null, 2)}\n`);
  return outcome;
}
