/**
 * The selection stage of `nerd distill`: which sentences of the pool the human budget labels
 * (`humanSelect`) and which the teacher annotates within `data.teacherLimit` (`teacher.select`), by the
 * strategies of teacher/select.ts. The defaults (`random` for the human, `first` for the teacher) take the
 * split.ts path unchanged, so a config that does not ask for selection picks exactly what it always did.
 *
 * `uncertainty` scores with a student: `humanSelectModel` for the human part; for the teacher part
 * `teacher.selectModel`, or else a student trained here on the human sentences alone (one round, with
 * phase 2's settings, from `student.model`), in a folder named by a hash of its inputs so a rerun reuses it.
 */
import path from 'node:path';
import type { Sentence } from '../corpus/types.js';
import { labelSetOf } from '../student/train-plan.js';
import { train } from '../student/train.js';
import { selectWithModel } from '../teacher/select.js';
import type { DistillConfig } from './config.js';
import { stableHash } from './experiment.js';
import { humanPart, splitByBudget } from './split.js';

export interface SelectStageOptions {
  /** where a selector student is trained (the run's phase folder) */
  dir: string;
  log: (line: string) => void;
  progress?: boolean;
  signal?: AbortSignal;
}

/** the part of a run's identity that selection adds: nothing for the defaults, so old hashes stay valid */
export function selectionKey(config: DistillConfig): Record<string, unknown> {
  const t = config.teacher;
  const key: Record<string, unknown> = {};
  if (t.select !== 'first')
    key.teacherSelect = {
      select: t.select,
      model: t.select === 'uncertainty' ? t.selectModel : undefined,
      rounds: t.select === 'uncertainty' && !t.selectModel && t.rounds > 1 ? t.rounds : undefined,
    };
  if (config.humanSelect !== 'random')
    key.humanSelect = {
      select: config.humanSelect,
      model: config.humanSelect === 'uncertainty' ? config.humanSelectModel : undefined,
    };
  return Object.keys(key).length ? { selection: key } : {};
}

/** The human sentences and the teacher's, chosen as the config says. */
export async function selectData(
  config: DistillConfig,
  data: { pool?: Sentence[]; human?: Sentence[]; candidates?: Sentence[]; dev: Sentence[] },
  o: SelectStageOptions,
): Promise<{ human: Sentence[]; unlabelled: Sentence[] }> {
  const limit = config.data.teacherLimit;
  const threads = config.student.threads;
  if (data.human) {
    // explicit files: the human part is given; the teacher's candidates are the unlabelled file in order
    const cands = data.candidates ?? [];
    const picked = await forTeacher(config, cands, data.human, data.dev, o);
    return { human: data.human, unlabelled: picked.map((j) => cands[j]!) };
  }
  const pool = data.pool ?? [];
  if (config.humanSelect === 'random' && config.teacher.select === 'first')
    return splitByBudget(pool, config.budget, config.seed, limit);
  let humanScores: number[] | undefined;
  if (config.humanSelect === 'uncertainty') {
    const { uncertaintyScores, predictorSource } = await import('../teacher/select.js');
    const { Predictor } = await import('../student/predict.js');
    const p = await Predictor.load(config.humanSelectModel!, { threads });
    try {
      o.log(
        `distill: scoring the pool (${pool.length} sentences) for the human budget with ${config.humanSelectModel}`,
      );
      humanScores = await uncertaintyScores(
        predictorSource(p),
        pool.map((s) => s.tokens),
      );
    } finally {
      await p.close();
    }
  }
  const { human: h, rest } = humanPart(pool, config.budget, config.seed, {
    human: config.humanSelect,
    ...(humanScores ? { humanScores } : {}),
  });
  const human = h.map((i) => pool[i]!);
  if (config.humanSelect !== 'random')
    o.log(`distill: the human budget (${human.length} sentences) chosen by '${config.humanSelect}'`);
  const cands = rest.map((i) => pool[i]!);
  const picked = (await forTeacher(config, cands, human, data.dev, o)).map((j) => rest[j]!).sort((a, b) => a - b);
  return { human, unlabelled: picked.map((i) => pool[i]!) };
}

/** indices into `cands` of the teacher's sentences, in `cands` order */
async function forTeacher(
  config: DistillConfig,
  cands: Sentence[],
  human: Sentence[],
  dev: Sentence[],
  o: SelectStageOptions,
): Promise<number[]> {
  const limit = config.data.teacherLimit;
  const k = limit > 0 ? Math.min(limit, cands.length) : cands.length;
  const strategy = config.teacher.select;
  if (strategy === 'first' || k >= cands.length) return Array.from({ length: k }, (_, i) => i);
  let model = config.teacher.selectModel;
  if (strategy === 'uncertainty' && !model) model = await selectorStudent(config, human, dev, o);
  const picked = await selectWithModel(
    cands.map((s) => s.tokens),
    k,
    {
      strategy,
      seed: config.seed,
      ...(model ? { model } : {}),
      threads: config.student.threads,
      log: (l) => o.log(`distill: ${l}`),
    },
  );
  o.log(`distill: ${k} of ${cands.length} unlabelled sentences for the teacher, chosen by '${strategy}'`);
  return picked;
}

/** a student trained on the human sentences alone, to score the teacher's candidates (one round) */
async function selectorStudent(
  config: DistillConfig,
  human: Sentence[],
  dev: Sentence[],
  o: SelectStageOptions,
): Promise<string> {
  if (human.length === 0)
    throw new Error(
      "teacher.select 'uncertainty' needs human-labelled sentences to train its student on, or teacher.selectModel",
    );
  const labels = labelSetOf(human, dev);
  const p = config.phase2;
  const {
    out: _o,
    name: _n,
    strategy: _s,
    phase1: _p1,
    schedule: _sch,
    teacherShare: _ts,
    teacher: _t,
    ...shared
  } = config;
  const out = path.join(o.dir, `select-${stableHash({ shared, labels, phase: p }).slice(0, 12)}`);
  o.log(
    `distill: training a human-only student (${human.length} sentences, ${p.epochs} epochs) to score the teacher's candidates → ${out}`,
  );
  const result = await train({
    out,
    train: [{ name: 'human', sentences: human }],
    dev,
    model: config.student.model,
    vocab: config.student.vocab,
    labels,
    epochs: Math.max(1, p.epochs),
    lr: p.lr,
    warmup: p.warmup,
    batchSize: config.student.batchSize,
    maxSeq: config.student.maxSeq,
    seed: config.seed * 1000 + 99,
    patience: config.student.patience,
    threads: config.student.threads,
    resume: true,
    progress: o.progress ?? true,
    log: o.log,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (result.interrupted) throw new Error('the selection student was interrupted; rerun the same command to resume it');
  return result.bestDir;
}
