/**
 * A scoring report: conlleval's counts plus the rates derived from them, as a JSON shape and as conlleval's text
 * layout (byte for byte).
 */
import type { Counts, TypeCounts } from './conlleval.js';
import { fixedWidth, rightAlignBytes } from './printf.js';

/** Scores for one entity type. Counts are integers, rates fractions in [0, 1]. */
export interface TypeScore {
  gold: number;
  found: number;
  correct: number;
  /** correct / found; 0 when nothing was found (as conlleval reports it) */
  precision: number;
  /** correct / gold; 0 when there is no gold entity */
  recall: number;
  /** harmonic mean of precision and recall; 0 when both are 0 */
  f1: number;
}

/** The `--json` shape. */
export interface ReportJson extends TypeScore {
  tokens: number;
  /** correctTags / tokens; 0 when there are no tokens */
  accuracy: number;
  types: Record<string, TypeScore>;
}

export type ScoreMode = 'conlleval' | 'strict';

/** A full report. `counts` keeps everything needed to print conlleval's text exactly. */
export interface Report extends ReportJson {
  mode: ScoreMode;
  /** tokens whose gold and predicted tags agree */
  correctTags: number;
  counts: Counts;
}

function rates(c: TypeCounts): TypeScore {
  const precision = c.found > 0 ? c.correct / c.found : 0;
  const recall = c.gold > 0 ? c.correct / c.gold : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { gold: c.gold, found: c.found, correct: c.correct, precision, recall, f1 };
}

/** Derives the rates from counts. */
export function reportFromCounts(counts: Counts, mode: ScoreMode = 'conlleval'): Report {
  const types: Record<string, TypeScore> = {};
  for (const [name, c] of counts.types) types[name] = rates(c);
  return {
    mode,
    tokens: counts.tokens,
    correctTags: counts.correctTags,
    accuracy: counts.tokens > 0 ? counts.correctTags / counts.tokens : 0,
    ...rates(counts),
    types,
    counts,
  };
}

/** The documented `--json` object (no extra keys). */
export function reportToJson(report: Report): ReportJson {
  const { tokens, accuracy, gold, found, correct, precision, recall, f1, types } = report;
  return { tokens, accuracy, gold, found, correct, precision, recall, f1, types };
}

/**
 * conlleval's text report, identical to what `conlleval.pl` prints for the same counts (same percentages computed
 * the same way in double precision, same `%6.2f` rounding, same order and padding of type names).
 */
export function formatConllevalReport(report: Report | Counts): string {
  const c: Counts = 'counts' in report ? report.counts : report;
  let precision = 0;
  let recall = 0;
  let fb1 = 0;
  if (c.found > 0) precision = (100 * c.correct) / c.found;
  if (c.gold > 0) recall = (100 * c.correct) / c.gold;
  if (precision + recall > 0) fb1 = (2 * precision * recall) / (precision + recall);
  let out = `processed ${c.tokens} tokens with ${c.gold} phrases; found: ${c.found} phrases; correct: ${c.correct}.\n`;
  if (c.tokens > 0) {
    out +=
      `accuracy: ${fixedWidth((100 * c.correctTags) / c.tokens, 6, 2)}%; ` +
      `precision: ${fixedWidth(precision, 6, 2)}%; ` +
      `recall: ${fixedWidth(recall, 6, 2)}%; ` +
      `FB1: ${fixedWidth(fb1, 6, 2)}\n`;
  }
  for (const name of c.reportOrder) {
    const t = c.types.get(name) ?? { gold: 0, found: 0, correct: 0 };
    const p = t.found ? (100 * t.correct) / t.found : 0;
    const r = t.gold ? (100 * t.correct) / t.gold : 0;
    const f = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    out +=
      `${rightAlignBytes(name, 17)}: precision: ${fixedWidth(p, 6, 2)}%; ` +
      `recall: ${fixedWidth(r, 6, 2)}%; FB1: ${fixedWidth(f, 6, 2)}  ${t.found}\n`;
  }
  return out;
}
