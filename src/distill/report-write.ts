/**
 * Writing an experiment's report: `OUT/report.html` and `OUT/summary.txt` (the table printed at the end),
 * with the notes every reader needs (a simulated teacher; the student's starting point; the price behind a
 * $ axis). An experiment with a selection axis gets the selection table and plots (report-selection.ts).
 */
import path from 'node:path';
import { writeFileAtomic } from '../files.js';
import { type Price, priceFor } from '../teacher/pricing.js';
import type { ExperimentConfig } from './config.js';
import { hasSelectionAxis } from './experiment-grid.js';
import { formatTable, renderHtml, summarise } from './report.js';
import { formatSelectionTable, selectionSectionHtml, summariseSelection } from './report-selection.js';
import type { RunResult } from './results.js';

/** GPT-4o's list price (USD per 1M input / output tokens), assumed for the simulated teacher's $ axis */
export const SIM_ASSUMED_PRICE: Price = { input: 2.5, output: 10 };

/**
 * The price of the report's $ axis: the config's `price`; else, for the simulator (which costs nothing),
 * GPT-4o's list price, said so; else the price table's for base.teacher.model; none if that is unknown.
 */
export function reportPrice(exp: ExperimentConfig): { price?: Price; note: string } {
  const per = (p: Price) => `$${p.input} per 1M input and $${p.output} per 1M output tokens`;
  if (exp.price) return { price: exp.price, note: `$ figures are at the config's price: ${per(exp.price)}.` };
  const t = exp.base.teacher;
  if (t.provider === 'sim')
    return {
      price: SIM_ASSUMED_PRICE,
      note: `$ figures: the simulated teacher costs nothing, so its reported tokens (characters / 4) are priced as GPT-4o's list price, ${per(SIM_ASSUMED_PRICE)} (set \`price\` in the config for another).`,
    };
  const model = t.model ?? (t.provider === 'gguf' ? t.gguf : undefined);
  const match = model ? priceFor(model) : undefined;
  if (match?.known)
    return { price: match.price, note: `$ figures are at the list price of ${model}: ${per(match.price)}.` };
  return {
    note: `No price is known for the teacher model${model ? ` "${model}"` : ''}: the report shows tokens, not $ (set \`price\` in the config).`,
  };
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
  if (hasSelectionAxis(exp)) {
    notes.push(
      "Teacher tokens: prompt + completion tokens of the teacher's answers for a run's sentences, as its endpoint reported them (those replayed from the cache counted as paid once), retries and re-asks included.",
    );
    notes.push(reportPrice(exp).note);
  }
  return notes;
}

/** the text table of summary.txt and the terminal */
export function summaryText(exp: ExperimentConfig, results: RunResult[]): string {
  if (!hasSelectionAxis(exp)) return formatTable(summarise(results, exp.strategies));
  return formatSelectionTable(summariseSelection(results, reportPrice(exp).price, exp.strategies));
}

export function writeReport(exp: ExperimentConfig, results: RunResult[]): string {
  const file = path.join(exp.out, 'report.html');
  const selectionHtml = hasSelectionAxis(exp)
    ? selectionSectionHtml(summariseSelection(results, reportPrice(exp).price, exp.strategies))
    : undefined;
  const html = renderHtml(
    results,
    {
      title: `nerd experiment: ${exp.name}`,
      notes: reportNotes(exp),
      config: exp,
      ...(selectionHtml !== undefined ? { selectionHtml } : {}),
    },
    exp.strategies,
  );
  writeFileAtomic(file, html);
  writeFileAtomic(path.join(exp.out, 'summary.txt'), `${summaryText(exp, results)}\n`);
  return file;
}
