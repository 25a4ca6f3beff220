/**
 * The teacher's own quality: its kept entities against gold labels, with the conlleval-exact scorer.
 * A sentence the teacher failed on counts as one with no entities found.
 */
import type { Sentence } from '../corpus/types.js';
import { iob2Tags, scoreTagSequences, type Report } from '../score/index.js';
import type { AnnotatedSentence } from './annotate.js';

export function scoreTeacher(gold: readonly Sentence[], annotated: readonly AnnotatedSentence[]): Report {
  const byIndex = new Map(annotated.map((a) => [a.index, a]));
  const predicted = gold.map((s, i) => ({
    tokens: s.tokens,
    spans: (byIndex.get(i)?.entities ?? []).map(({ start, end, label }) => ({ start, end, label })),
  }));
  return scoreTagSequences(
    gold.map((s) => iob2Tags(s)),
    predicted.map((p) => iob2Tags(p)),
  );
}

/** below this F1 on sentences with known labels the teacher is taken to be misconfigured, not just weak */
export const BROKEN_TEACHER_F1 = 0.05;
/** gold entities needed before a near-zero F1 is evidence */
const MIN_GOLD_ENTITIES = 20;

/**
 * When a teacher's F1 on sentences with known labels is near 0, what is probably wrong, as one message;
 * undefined when the teacher is working (or there are too few known labels to tell). In order:
 *   - types: the types asked share (almost) nothing with the data's labels;
 *   - endpoint: the teacher found (almost) nothing — empty or unusable answers, a wrong model or URL;
 *   - definitions: it found entities, but not the data's — the definitions do not describe the labels.
 */
export function diagnoseTeacher(
  gold: readonly Sentence[],
  annotated: readonly AnnotatedSentence[],
  types: readonly string[],
  where = 'the teacher',
): string | undefined {
  const report = scoreTeacher(gold, annotated);
  if (report.gold < MIN_GOLD_ENTITIES || report.f1 >= BROKEN_TEACHER_F1) return undefined;
  const goldCounts = new Map<string, number>();
  for (const s of gold) for (const sp of s.spans) goldCounts.set(sp.label, (goldCounts.get(sp.label) ?? 0) + 1);
  const covered = [...goldCounts.entries()].filter(([t]) => types.includes(t)).reduce((n, [, c]) => n + c, 0);
  const head = `${where} scored F1 ${report.f1.toFixed(3)} on ${gold.length} sentences with known labels (${report.found} entities found, ${report.gold} in the labels)`;
  const dataTypes = [...goldCounts.keys()].join(', ');
  if (covered < 0.5 * report.gold) {
    return `${head}: the types asked (${types.join(', ')}) are not the data's (${dataTypes}); name the data's types, or name none to take them from the labelled data`;
  }
  if (report.found < 0.1 * report.gold) {
    return `${head}: it found almost nothing — check the endpoint and model (does it answer the prompt with JSON entities? try a few sentences with nerd annotate) and that failed requests are not being counted as empty`;
  }
  return `${head}: it finds entities, but not the labelled ones — check that the type definitions (--definitions / teacher.definitions) describe the data's labels (${dataTypes})`;
}
