/**
 * `nerd experiment`: a grid over human-label budgets × strategies × seeds. Each finished run is appended to
 * `OUT/results.jsonl` at once; a rerun skips every run already there (same key and same config hash), so a
 * killed experiment resumes where it stopped and produces the same report.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../files.js';
import path from 'node:path';
import type { DistillConfig, ExperimentConfig } from './config.js';
import { planPhases } from './strategies.js';
import { selectionKey } from './select-stage.js';
import { formatTable, renderHtml, summarise } from './report.js';
import { appendResult, readResults, runKey, type RunResult } from './results.js';

export type RunOne = (
  config: DistillConfig,
  context: { key: string; index: number; total: number; phaseDir: string },
) => Promise<RunResult>;

export interface ExperimentOutcome {
  results: RunResult[];
  ran: number;
  skipped: number;
  table: string;
  reportFile: string;
  resultsFile: string;
}

/** The config of one grid cell: the base config with the cell's budget, strategy and seed. */
export function cellConfig(
  exp: ExperimentConfig,
  budget: number,
  strategy: DistillConfig['strategy'],
  seed: number,
): DistillConfig {
  return {
    ...exp.base,
    name: `${exp.name}/${runKey(budget, strategy, seed)}`,
    out: path.join(exp.out, 'runs', `b${budget}-${strategy}-s${seed}`),
    budget,
    strategy,
    seed,
  };
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

export function reportNotes(exp: ExperimentConfig): string[] {
  const notes: string[] = [];
  if (exp.base.teacher.provider === 'sim')
    notes.push(
      `The teacher is SIMULATED (nerd teacher-sim, noise "${exp.base.teacher.noise}"): it answers from the gold labels with a documented noise model. These figures test the pipeline and the training regimens, not a real LLM.`,
    );
  notes.push(
    `Student: ${exp.base.student.model}, trained from ${/^(tiny|mini|small|base)$/.test(exp.base.student.model) ? 'fresh weights' : 'the given checkpoint'}; seeds ${exp.seeds.join(', ')}; sd is the sample standard deviation over seeds.`,
  );
  return notes;
}

export async function runExperiment(
  exp: ExperimentConfig,
  runOne: RunOne,
  log: (line: string) => void = () => {},
): Promise<ExperimentOutcome> {
  mkdirSync(exp.out, { recursive: true });
  const resultsFile = path.join(exp.out, 'results.jsonl');
  const finished = new Map(readResults(resultsFile).map((r) => [r.key, r]));
  const grid = exp.budgets.flatMap((budget) =>
    exp.seeds.flatMap((seed) => exp.strategies.map((strategy) => ({ budget, seed, strategy }))),
  );
  let ran = 0;
  let skipped = 0;
  const results: RunResult[] = [];
  for (const [index, cell] of grid.entries()) {
    const config = cellConfig(exp, cell.budget, cell.strategy, cell.seed);
    const key = runKey(cell.budget, cell.strategy, cell.seed);
    const hash = configHash(config);
    const prior = finished.get(key);
    if (prior && prior.configHash === hash) {
      skipped++;
      results.push(prior);
      log(`[${index + 1}/${grid.length}] ${key}: done before (test F1 ${(100 * prior.test.f1).toFixed(1)}), skipped`);
      continue;
    }
    if (prior) log(`[${index + 1}/${grid.length}] ${key}: config changed since the recorded run, running again`);
    log(`[${index + 1}/${grid.length}] ${key}: running`);
    const result = resultOnly({
      ...(await runOne(config, { key, index, total: grid.length, phaseDir: path.join(exp.out, 'phases') })),
      key,
      configHash: hash,
    });
    appendResult(resultsFile, result);
    results.push(result);
    ran++;
    log(
      `[${index + 1}/${grid.length}] ${key}: test F1 ${(100 * result.test.f1).toFixed(1)} in ${result.seconds.toFixed(0)} s`,
    );
    writeReport(exp, results); // the report grows as runs finish
  }
  const reportFile = writeReport(exp, results);
  const table = formatTable(summarise(results, exp.strategies));
  return { results, ran, skipped, table, reportFile, resultsFile };
}

function writeReport(exp: ExperimentConfig, results: RunResult[]): string {
  const file = path.join(exp.out, 'report.html');
  const html = renderHtml(
    results,
    { title: `nerd experiment: ${exp.name}`, notes: reportNotes(exp), config: exp },
    exp.strategies,
  );
  writeFileAtomic(file, html);
  writeFileAtomic(path.join(exp.out, 'summary.txt'), `${formatTable(summarise(results, exp.strategies))}\n`);
  return file;
}

/** Keeps the fields of a RunResult (a runner may return more, e.g. paths and teacher timings, that differ between identical runs). */
function resultOnly(r: RunResult): RunResult {
  const {
    key,
    budget,
    strategy,
    seed,
    humanSentences,
    teacherSentences,
    test,
    dev,
    teacher,
    curve,
    seconds,
    configHash,
  } = r;
  return {
    key,
    budget,
    strategy,
    seed,
    humanSentences,
    teacherSentences,
    test,
    dev,
    ...(teacher ? { teacher } : {}),
    curve,
    seconds,
    configHash,
  };
}
