/**
 * The review's data model. A sentence under review keeps what the teacher said (never changed), what the
 * student predicted (when a model is given), and the reviewer's working copy of its spans.
 *
 * Offsets are TOKEN offsets, `end` exclusive, as in src/corpus/types.ts.
 */
export interface TeacherEntity {
  start: number;
  end: number;
  label: string;
  /** share of teacher samples that voted for the span, in [0, 1] */
  confidence?: number;
}

/** an entity the teacher proposed that grounding or voting rejected: kept for inspection only */
export interface RejectedEntity {
  text?: string;
  label?: string;
  reason?: string;
  [more: string]: unknown;
}

export interface StudentEntity {
  start: number;
  end: number;
  label: string;
  score: number;
}

export type SpanStatus = 'pending' | 'accepted' | 'edited' | 'added';

export interface ReviewSpan {
  /** stable within its sentence, so actions can name a span while others move */
  id: number;
  start: number;
  end: number;
  label: string;
  status: SpanStatus;
  source: 'teacher' | 'student' | 'human';
  confidence?: number;
}

export type SentenceStatus = 'todo' | 'done';

export interface ReviewSentence {
  id: string;
  /** position in the data file (0-based) */
  ord: number;
  tokens: string[];
  teacher: TeacherEntity[];
  rejected: RejectedEntity[];
  student?: StudentEntity[];
  doubt: number;
  reasons: string[];
}

export interface ReviewState {
  status: SentenceStatus;
  spans: ReviewSpan[];
  /** bumped by every saved action; a client sends the version it saw so two tabs cannot overwrite each other */
  version: number;
  updatedAt?: string;
}

export type ReviewAction =
  | { type: 'accept-entity'; span: number }
  | { type: 'reject-entity'; span: number }
  | { type: 'set-span'; span: number; start: number; end: number }
  | { type: 'set-label'; span: number; label: string }
  | { type: 'add-entity'; start: number; end: number; label: string }
  | { type: 'accept-sentence' }
  | { type: 'reopen' }
  | { type: 'use-student' }
  | { type: 'undo' };

export function initialSpans(teacher: TeacherEntity[]): ReviewSpan[] {
  return [...teacher]
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .map((e, i) => ({
      id: i + 1,
      start: e.start,
      end: e.end,
      label: e.label,
      status: 'pending' as const,
      source: 'teacher' as const,
      ...(e.confidence !== undefined ? { confidence: e.confidence } : {}),
    }));
}
