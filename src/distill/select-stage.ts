/**
 * The selection stage of `nerd distill`: which sentences of the pool the human budget labels
 * (`humanSelect`) and which the teacher annotates within `data.teacherLimit` (`teacher.select`), by the
 * strategies of teacher/select.ts. The defaults (`random` for the human, `first` for the teacher) take the
 * split.ts path unchanged, so a config that does not ask for selection picks exactly what it always did.
 *
 * `uncertainty` scores with a student: for the human part `humanSelectModel`, or else (a cold start) a
 * seeded random first chunk and rounds of students trained on the gold labels picked so far; for the
 * teacher part `teacher.selectModel`, or else students trained here (select-rounds.ts): one on the human
 * sentences (`teacher.rounds: 1`), or rounds whose students learn from the teacher's labels of the rounds
 * before. Each student is in a folder named by a hash of its inputs, so a rerun reuses it.
 */
import type { Sentence } from '../corpus/types.js';
import { scoreWith, selectWithModel } from '../teacher/select.js';
import type { DistillConfig } from './config.js';
import { humanRounds, humanRoundsOf, selectorShared, teacherRounds, trainSelector } from './select-rounds.js';
import { humanCount, humanPart, splitByBudget } from './split.js';
import { usesTeacher } from './strategies.js';

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
      rounds: config.humanSelect === 'uncertainty' && !config.humanSelectModel ? humanRoundsOf(config) : undefined,
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
  let humanIndices: number[] | undefined;
  if (config.humanSelect === 'uncertainty' && config.humanSelectModel) {
    o.log(`distill: scoring the pool (${pool.length} sentences) for the human budget with ${config.humanSelectModel}`);
    humanScores = await scoreWith(
      config.humanSelectModel,
      pool.map((s) => s.tokens),
      config.student.threads,
    );
  } else if (config.humanSelect === 'uncertainty')
    humanIndices = await humanRounds(config, pool, humanCount(pool.length, config.budget), data.dev, o);
  const { human: h, rest } = humanPart(pool, config.budget, config.seed, {
    human: config.humanSelect,
    ...(humanScores ? { humanScores } : {}),
    ...(humanIndices ? { humanIndices } : {}),
  });
  const human = h.map((i) => pool[i]!);
  if (config.humanSelect !== 'random')
    o.log(`distill: the human budget (${human.length} sentences) chosen by '${config.humanSelect}'`);
  const cands = rest.map((i) => pool[i]!);
  const picked = (await forTeacher(config, cands, human, data.dev, o)).map((j) => rest[j]!);
  // in pool order, except rounds: the teacher gets their chunks in the order picked (its cache has them so)
  if (!inRounds(config)) picked.sort((a, b) => a - b);
  return { human, unlabelled: picked.map((i) => pool[i]!) };
}

/** teacher uncertainty in more than one round (the order of the teacher's sentences is the rounds') */
function inRounds(config: DistillConfig): boolean {
  const t = config.teacher;
  return t.select === 'uncertainty' && !t.selectModel && t.rounds > 1 && usesTeacher(config.strategy);
}

/** indices into `cands` of the teacher's sentences: in `cands` order, or the rounds' order */
async function forTeacher(
  config: DistillConfig,
  cands: Sentence[],
  human: Sentence[],
  dev: Sentence[],
  o: SelectStageOptions,
): Promise<number[]> {
  const limit = config.data.teacherLimit;
  const k = limit > 0 ? Math.min(limit, cands.length) : cands.length;
  // a strategy without a teacher never sends these: no student is trained (nor a teacher paid) to choose them
  const strategy = usesTeacher(config.strategy) ? config.teacher.select : 'first';
  if (strategy === 'first' || k >= cands.length) return Array.from({ length: k }, (_, i) => i);
  if (inRounds(config)) {
    const picked = await teacherRounds(config, cands, k, human, dev, o);
    o.log(`distill: ${k} of ${cands.length} unlabelled sentences for the teacher, chosen by 'uncertainty' in rounds`);
    return picked;
  }
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
  o.log(
    `distill: training a human-only student (${human.length} sentences, ${config.phase2.epochs} epochs) to score the teacher's candidates`,
  );
  const s = await trainSelector(
    config,
    [{ name: 'human', sentences: human }],
    dev,
    { shared: selectorShared(config) },
    config.seed * 1000 + 99,
    o,
  );
  return s.dir;
}
