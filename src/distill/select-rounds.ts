/**
 * Uncertainty selection with students trained here (select-stage.ts calls these), in rounds:
 *
 *   - the teacher (`teacher.select: uncertainty` without `teacher.selectModel`): its `k` sentences are
 *     picked in `teacher.rounds` chunks. Round 1's student is trained on the human sentences; after each
 *     round the chunks so far are annotated by the teacher (the run's own teacher job, `teach`, through its
 *     SQLite cache) and the next round's student is trained on the human labels plus those teacher labels,
 *     scoring the candidates not yet picked. The chunks are handed to the run in the order they were
 *     picked and every chunk but the last is a multiple of `teacher.batch` sentences, so the run's teacher
 *     job sends exactly the batches the rounds sent and the cache answers them: nothing is paid twice.
 *   - the human budget (`humanSelect: uncertainty` without `humanSelectModel`, a cold start): the first
 *     chunk is a seeded random sample (the head of the same seeded shuffle `random` takes), then each
 *     round's student, trained on the gold labels of the chunks so far, picks the next chunk from the rest
 *     of the pool. Rounds: `teacher.rounds` when it is more than 1, else 2 (half random, half by doubt).
 *
 * Every student is trained with phase 2's epochs and learning rate from `student.model`, in
 * `select-HASH/` of the phase folder, HASH covering everything it is trained on (settings, label set,
 * the sentences picked so far), with `resume: true`: a rerun reuses finished students and a killed one
 * resumes where it stopped.
 */
import path from 'node:path';
import type { Sentence } from '../corpus/types.js';
import { labelSetOf } from '../student/train-plan.js';
import { train } from '../student/train.js';
import { scoreWith, selectIndices } from '../teacher/select.js';
import type { DistillConfig } from './config.js';
import { stableHash } from './experiment.js';
import { TRAINING_REVISION } from './revision.js';
import { humanPart } from './split.js';
import { teach } from './teach-stage.js';

export interface RoundOptions {
  /** where the selector students are trained (the run's phase folder) */
  dir: string;
  log: (line: string) => void;
  progress?: boolean;
  signal?: AbortSignal;
}

/**
 * `k` split over `rounds` chunks, as even as can be with every chunk but the last a multiple of `align`
 * (the teacher's batch); empty chunks are dropped, so fewer rounds are run when `k` is small.
 */
export function chunkSizes(k: number, rounds: number, align = 1): number[] {
  const R = Math.max(1, Math.floor(rounds));
  const a = Math.max(1, Math.floor(align));
  const sizes: number[] = [];
  let done = 0;
  for (let r = 1; r < R; r++) {
    const end = Math.min(k, Math.max(done, Math.round((k * r) / R / a) * a));
    sizes.push(end - done);
    done = end;
  }
  sizes.push(k - done);
  return sizes.filter((s) => s > 0);
}

/** the settings a selector student's identity shares with the run (not its name, folder, strategy or teacher) */
export function selectorShared(config: DistillConfig): Record<string, unknown> {
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
  return shared;
}

export interface Selector {
  /** the student's best checkpoint */
  dir: string;
  devF1?: number;
  /** found finished in its folder (nothing trained) */
  reused: boolean;
}

/** trains (or finds) a selector student on `sources` in `select-HASH/`, HASH of `identity`, labels and phase 2 */
export async function trainSelector(
  config: DistillConfig,
  sources: Array<{ name: string; sentences: Sentence[] }>,
  dev: Sentence[],
  identity: Record<string, unknown>,
  seed: number,
  o: RoundOptions,
): Promise<Selector> {
  const labels = labelSetOf(...sources.map((s) => s.sentences), dev);
  const p = config.phase2;
  const out = path.join(
    o.dir,
    `select-${stableHash({ revision: TRAINING_REVISION, ...identity, labels, phase: p }).slice(0, 12)}`,
  );
  const result = await train({
    out,
    train: sources,
    dev,
    model: config.student.model,
    vocab: config.student.vocab,
    labels,
    epochs: Math.max(1, p.epochs),
    lr: p.lr,
    warmup: p.warmup,
    batchSize: config.student.batchSize,
    maxSeq: config.student.maxSeq,
    seed,
    patience: config.student.patience,
    threads: config.student.threads,
    resume: true,
    progress: o.progress ?? true,
    log: o.log,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (result.interrupted) throw new Error('a selection student was interrupted; rerun the same command to resume it');
  return {
    dir: result.bestDir,
    ...(result.bestF1 !== undefined ? { devF1: result.bestF1 } : {}),
    reused: result.resumedAt !== undefined && result.resumedAt >= result.totalSteps,
  };
}

/** the `size` most doubtful of `left` (indices into `all`), by the student in `dir`; in `left` order */
async function pickRound(dir: string, all: Sentence[], left: number[], size: number, config: DistillConfig) {
  const tokens = left.map((i) => all[i]!.tokens);
  const scores = await scoreWith(dir, tokens, config.student.threads);
  return selectIndices(tokens, size, { strategy: 'uncertainty', seed: config.seed, scores }).map((j) => left[j]!);
}

const f1Text = (s: Selector) =>
  `${s.devF1 !== undefined ? `dev F1 ${(100 * s.devF1).toFixed(1)}` : 'no dev score'}${s.reused ? ', reused' : ''}`;

/**
 * The teacher's `k` candidates by uncertainty in `teacher.rounds` rounds: indices into `cands`, in the
 * order the teacher must get them (round by round, each round's chunk in `cands` order).
 */
export async function teacherRounds(
  config: DistillConfig,
  cands: Sentence[],
  k: number,
  human: Sentence[],
  dev: Sentence[],
  o: RoundOptions,
): Promise<number[]> {
  if (human.length === 0)
    throw new Error(
      "teacher.select 'uncertainty' needs human-labelled sentences to train its first student on, or teacher.selectModel",
    );
  const sizes = chunkSizes(k, config.teacher.rounds, config.teacher.batch);
  const { cache: _c, select: _s, selectModel: _m, rounds: _r, ...teacherInputs } = config.teacher;
  const shared = selectorShared(config);
  const chosen: number[] = [];
  const taken = new Set<number>();
  for (const [r, size] of sizes.entries()) {
    let teacherSoFar: Sentence[] = [];
    if (r > 0) {
      o.log(
        `distill: teacher round ${r + 1}/${sizes.length}: the teacher annotates the ${chosen.length} picked so far`,
      );
      const taught = await teach(
        config,
        chosen.map((j) => cands[j]!),
        human,
        dev,
        {
          log: o.log,
          ...(o.progress !== undefined ? { progress: o.progress } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        },
      );
      teacherSoFar = taught.teacherSentences;
    }
    // round 1 is the one-round selector (same identity and seed), so rounds = 1 and rounds > 1 share it
    const selector = await trainSelector(
      config,
      [{ name: 'human', sentences: human }, ...(r > 0 ? [{ name: 'teacher', sentences: teacherSoFar }] : [])],
      dev,
      r === 0 ? { shared } : { shared, teacher: teacherInputs, round: r, picked: chosen },
      config.seed * 1000 + 99 + r,
      o,
    );
    const left = cands.map((_, j) => j).filter((j) => !taken.has(j));
    const pick = await pickRound(selector.dir, cands, left, size, config);
    for (const j of pick) taken.add(j);
    chosen.push(...pick);
    o.log(
      `distill: teacher round ${r + 1}/${sizes.length}: picked ${pick.length} of ${left.length} candidates (student on ${human.length} human + ${teacherSoFar.length} teacher sentences, ${f1Text(selector)})`,
    );
  }
  return chosen;
}

/**
 * The human budget (`n` of `pool`) by uncertainty from a cold start: a seeded random first chunk, then
 * rounds of students trained on the gold labels picked so far. Indices into `pool`, in pool order.
 */
export async function humanRounds(
  config: DistillConfig,
  pool: Sentence[],
  n: number,
  dev: Sentence[],
  o: RoundOptions,
): Promise<number[]> {
  const sizes = chunkSizes(n, humanRoundsOf(config));
  const chosen = humanPart(pool, sizes[0]!, config.seed).human;
  o.log(
    `distill: human round 1/${sizes.length}: a seeded random ${chosen.length} of the ${pool.length} pool sentences`,
  );
  const identity = {
    pool: config.data.train,
    dev: config.data.dev,
    devLimit: config.data.devLimit,
    student: config.student,
    seed: config.seed,
  };
  const taken = new Set(chosen);
  for (let r = 1; r < sizes.length; r++) {
    const human = chosen.map((i) => pool[i]!);
    const selector = await trainSelector(
      config,
      [{ name: 'human', sentences: human }],
      dev,
      { humanRound: { ...identity, round: r, picked: [...chosen].sort((a, b) => a - b) } },
      config.seed * 1000 + 199 + r,
      o,
    );
    const left = pool.map((_, i) => i).filter((i) => !taken.has(i));
    const pick = await pickRound(selector.dir, pool, left, sizes[r]!, config);
    for (const i of pick) taken.add(i);
    chosen.push(...pick);
    o.log(
      `distill: human round ${r + 1}/${sizes.length}: picked ${pick.length} of ${left.length} (student on ${human.length} gold sentences, ${f1Text(selector)})`,
    );
  }
  return chosen.sort((a, b) => a - b);
}

/** the number of rounds of a cold-start human uncertainty selection: teacher.rounds if > 1, else 2 */
export function humanRoundsOf(config: DistillConfig): number {
  return config.teacher.rounds > 1 ? config.teacher.rounds : 2;
}
