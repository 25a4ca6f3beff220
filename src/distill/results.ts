/**
 * The experiment's results file: one JSON line per finished run, appended (and fsynced) as each run ends,
 * so a killed experiment loses at most the run in progress and a rerun skips every finished one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Strategy } from './config.js';

export interface TypeScore {
  precision: number;
  recall: number;
  f1: number;
  gold?: number;
  found?: number;
  correct?: number;
}

export interface ScoreSummary extends TypeScore {
  types: Record<string, TypeScore>;
}

export interface CurvePoint {
  phase: string;
  epoch: number;
  step: number;
  loss: number;
  devF1: number;
}

/** tokens of the teacher's answers for a run's sentences, as its endpoint reported them (OpenAI's usage) */
export interface TeacherTokens {
  /** prompt tokens: paid in this run, or in an earlier one whose answer the cache replayed */
  prompt: number;
  /** completion tokens (reasoning included), paid now or earlier as above */
  completion: number;
}

export interface RunResult {
  /** budget/strategy/seed (and a selection experiment's axes), the identity a rerun uses to skip finished runs */
  key: string;
  budget: number;
  strategy: Strategy;
  seed: number;
  humanSentences: number;
  teacherSentences: number;
  /** the student on the test set */
  test: ScoreSummary;
  /** the best dev score reached (model selection) */
  dev: ScoreSummary;
  /** the teacher's own labels against the gold labels of the sentences it annotated */
  teacher?: ScoreSummary;
  /** `data.teacherLimit` of the run (0 = all); absent in results written before the selection axis */
  teacherLimit?: number;
  /** `teacher.select` of the run; absent before the selection axis (then it was 'first') */
  teacherSelect?: string;
  /** `humanSelect` of the run; absent before the selection axis (then it was 'random') */
  humanSelect?: string;
  /** the teacher's tokens for this run's sentences (absent for strategies without a teacher) */
  teacherTokens?: TeacherTokens;
  curve: CurvePoint[];
  seconds: number;
  /** hash of the run's full config: a changed config is a different run */
  configHash: string;
}

/** the selection parts of a run's key: only those a selection experiment sets to other than its base's value */
export interface KeySelection {
  teacher?: number;
  select?: string;
  humanSelect?: string;
}

/**
 * A run's key: `budget=B/strategy=S/seed=N`, followed by `/teacher=N`, `/select=S`, `/humanSelect=H` for
 * the selection values given (so results of experiments without a selection axis keep their keys).
 */
export function runKey(budget: number, strategy: Strategy, seed: number, sel: KeySelection = {}): string {
  return [
    `budget=${budget}/strategy=${strategy}/seed=${seed}`,
    ...(sel.teacher !== undefined ? [`teacher=${sel.teacher}`] : []),
    ...(sel.select !== undefined ? [`select=${sel.select}`] : []),
    ...(sel.humanSelect !== undefined ? [`humanSelect=${sel.humanSelect}`] : []),
  ].join('/');
}

export function readResults(file: string): RunResult[] {
  if (!existsSync(file)) return [];
  const out: RunResult[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as RunResult);
    } catch {
      // A line cut off by a kill during the write is the last one; anything else is damage.
      if (i === lines.length - 1 || (i === lines.length - 2 && lines.at(-1) === '')) return;
      throw new InputError('damaged results line (not JSON); remove it to rerun that run', file, i + 1);
    }
  });
  return out;
}

export function appendResult(file: string, result: RunResult): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Drop a torn last line left by a kill during an earlier write before appending after it.
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n'))
      truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
  }
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, `${JSON.stringify(result)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
