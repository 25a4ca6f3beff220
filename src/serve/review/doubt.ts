/**
 * Where a reviewer's minutes do the most good (the paper's open "annotation selection" problem): sentences
 * are ordered by a doubt score that adds up three signals, each in [0, 1]:
 *   - low vote: 1 − the lowest vote confidence among the teacher's spans (self-consistency disagreement);
 *   - disagreement: 1 − F1 between the teacher's and the student's spans (exact boundaries and type), when
 *     a student model is given;
 *   - rejections: 0.5 per entity the teacher proposed but grounding/voting rejected (capped at 1).
 * Each signal that contributes also yields a short reason the page shows.
 */
import type { RejectedEntity, StudentEntity, TeacherEntity } from './model.js';

export interface Doubt {
  score: number;
  reasons: string[];
}

const key = (e: { start: number; end: number; label: string }) => `${e.start}:${e.end}:${e.label}`;

/** entity-level F1 of two span sets (1 when both are empty) */
export function agreement(
  a: Array<{ start: number; end: number; label: string }>,
  b: Array<{ start: number; end: number; label: string }>,
): number {
  if (a.length === 0 && b.length === 0) return 1;
  const inB = new Set(b.map(key));
  const both = a.filter((e) => inB.has(key(e))).length;
  return (2 * both) / (a.length + b.length);
}

export function doubtOf(teacher: TeacherEntity[], rejected: RejectedEntity[], student?: StudentEntity[]): Doubt {
  const reasons: string[] = [];
  let score = 0;
  const confs = teacher.map((e) => e.confidence).filter((c): c is number => typeof c === 'number');
  if (confs.length > 0) {
    const min = Math.min(...confs);
    if (min < 1) {
      score += 1 - min;
      reasons.push(`low vote ${min.toFixed(2)}`);
    }
  }
  if (student) {
    const f1 = agreement(teacher, student);
    if (f1 < 1) {
      score += 1 - f1;
      reasons.push(`student disagrees (F1 ${f1.toFixed(2)})`);
    }
  }
  if (rejected.length > 0) {
    score += Math.min(1, 0.5 * rejected.length);
    reasons.push(`${rejected.length} rejected`);
  }
  return { score: Math.round(score * 1e4) / 1e4, reasons };
}
