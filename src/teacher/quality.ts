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
  return scoreTagSequences(gold.map((s) => iob2Tags(s)), predicted.map((p) => iob2Tags(p)));
}
