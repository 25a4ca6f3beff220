/**
 * `nerd experiment`: a grid over human-label budgets × strategies × seeds, and, where the config asks for
 * them, teacher sentences × teacher selection × human selection (experiment-grid.ts). Each finished run is
 * appended to `OUT/results.jsonl` at once; a rerun skips every run already there (same key and same config
 * hash), so a killed experiment resumes where it stopped and produces the same report.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { AnnotateStats } from '../teacher/annotate.js';
import { DistillConfig, type ExperimentConfig } from './config.js';
import { cellConfig, cellKey, experimentGrid, type GridCell } from './experiment-grid.js';
import { planPhases } from './strategies.js';
import { TRAINING_REVISION } from './revision.js';
import { selectionKey } from './select-stage.js';
import { summaryText, writeReport } from './report-write.js';
import { appendResult, readResults, type RunResult } from './results.js';

export { cellConfig, experimentGrid } from './experiment-grid.js';
export { reportNotes } from './report-write.js';

/** what a runner returns: the run's result, and the teacher job's stats where it had one (its token usage) */
export type RunOutcome = RunResult & { teacherStats?: AnnotateStats };

export type RunOne = (
  config: DistillConfig,
  context: { key: string; index: number; total: number; phaseDir: string },
) => Promise<RunOutcome>;

export interface ExperimentOutcome {
  results: RunResult[];
  ran: number;
  skipped: number;
  table: string;
  reportFile: string;
  resultsFile: string;
}

/**
 * Hash of everything that changes a run's result: its data, budget, seed, teacher (not the cache file),
 * student, and the phases its strategy trains — not its name or folder, nor settings its strategy does not
 * use (so adding `teacherShare` for `mix` does not rerun `human-only`).
 */
export function configHash(config: DistillConfig): string {
  const { cache: _cache, select: _sel, selectModel: _selm, rounds: _rounds, ...teacher } = config.teacher;
  const phases = planPhases(config).map(({ name: _name, ...phase }) => phase);
  const pretrain = config.pretrain ? { pretrain: config.pretrain } : {};
  return stableHash({
    revision: TRAINING_REVISION,
    data: config.data,
    budget: config.budget,
    seed: config.seed,
    teacher,
    student: config.student,
    phases,
    ...pretrain,
    ...selectionKey(config),
  }).slice(0, 16);
}

/** sha256 of a value's JSON with sorted keys (the same value always hashes the same) */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  if (x && typeof x === 'object')
    return `{${Object.keys(x as object)
      .sort()
      .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((x as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(x);
}

export async function runExperiment(
  exp: ExperimentConfig,
  runOne: RunOne,
  log: (line: string) => void = () => {},
): Promise<ExperimentOutcome> {
  const grid = experimentGrid(exp).map((cell) => ({ cell, config: checkedCell(exp, cell) }));
  mkdirSync(exp.out, { recursive: true });
  const resultsFile = path.join(exp.out, 'results.jsonl');
  const finished = new Map(readResults(resultsFile).map((r) => [r.key, r]));
  let ran = 0;
  let skipped = 0;
  const results: RunResult[] = [];
  for (const [index, { cell, config }] of grid.entries()) {
    const key = cellKey(exp, cell);
    const hash = configHash(config);
    const prior = finished.get(key);
    const at = `[${index + 1}/${grid.length}] ${key}`;
    if (prior && prior.configHash === hash) {
      skipped++;
      // results written before the selection axis lack its fields: the cell (same key and hash) has them
      results.push({ ...prior, ...selectionOf(cell) });
      log(`${at}: done before (test F1 ${(100 * prior.test.f1).toFixed(1)}), skipped`);
      continue;
    }
    if (prior) log(`${at}: config changed since the recorded run, running again`);
    log(`${at}: running`);
    const result = resultOnly(
      await runOne(config, { key, index, total: grid.length, phaseDir: path.join(exp.out, 'phases') }),
      { key, configHash: hash, ...selectionOf(cell) },
    );
    appendResult(resultsFile, result);
    results.push(result);
    ran++;
    log(`${at}: test F1 ${(100 * result.test.f1).toFixed(1)} in ${result.seconds.toFixed(0)} s`);
    writeReport(exp, results); // the report grows as runs finish
  }
  const reportFile = writeReport(exp, results);
  const table = summaryText(exp, results);
  return { results, ran, skipped, table, reportFile, resultsFile };
}

/** a cell's config, checked as a run config (e.g. humanSelect 'uncertainty' needs its model) before any run starts */
function checkedCell(exp: ExperimentConfig, cell: GridCell): DistillConfig {
  const config = cellConfig(exp, cell);
  const parsed = DistillConfig.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `experiment ${exp.name}, run ${cellKey(exp, cell)}: base.${issue.path.join('.')}: ${issue.message}`,
    );
  }
  return config;
}

const selectionOf = (cell: GridCell) => ({
  teacherLimit: cell.teacherLimit,
  teacherSelect: cell.teacherSelect,
  humanSelect: cell.humanSelect,
});

/**
 * Keeps the fields of a RunResult (a runner may return more, e.g. paths and teacher timings, that differ
 * between identical runs), with the teacher's tokens from its stats: those paid in this run plus those of
 * answers the cache replayed (paid by an earlier run), so a resumed run records what a fresh one would.
 */
function resultOnly(
  r: RunOutcome,
  id: Pick<RunResult, 'key' | 'configHash' | 'teacherLimit' | 'teacherSelect' | 'humanSelect'>,
): RunResult {
  const { budget, strategy, seed, humanSentences, teacherSentences, test, dev, teacher, curve, seconds } = r;
  const s = r.teacherStats;
  return {
    key: id.key,
    budget,
    strategy,
    seed,
    humanSentences,
    teacherSentences,
    test,
    dev,
    ...(teacher ? { teacher } : {}),
    teacherLimit: id.teacherLimit,
    teacherSelect: id.teacherSelect,
    humanSelect: id.humanSelect,
    ...(s
      ? {
          teacherTokens: {
            prompt: s.promptTokens + s.cachedPromptTokens,
            completion: s.completionTokens + s.cachedCompletionTokens,
          },
        }
      : {}),
    curve,
    seconds,
    configHash: id.configHash,
  };
}
