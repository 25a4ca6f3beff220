/**
 * The review store's SQLite layout: the schema (sentences, their current reviews, the append-only action
 * log, a key/value meta table), the shapes of the rows read back, the decoding of a sentence row into a
 * ReviewSentence, and the busy/locked handling constants and test that the store's writes use when several
 * processes share one file. store.ts holds the queries and transactions over this layout.
 */
import type { ReviewSentence, SentenceStatus, StudentEntity } from './model.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sentences (
  id TEXT PRIMARY KEY,
  ord INTEGER NOT NULL,
  tokens TEXT NOT NULL,
  teacher TEXT NOT NULL,
  rejected TEXT NOT NULL,
  student TEXT,
  doubt REAL NOT NULL,
  reasons TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_doubt ON sentences (doubt DESC, ord);
CREATE TABLE IF NOT EXISTS reviews (
  sentence_id TEXT PRIMARY KEY REFERENCES sentences (id),
  status TEXT NOT NULL,
  spans TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sentence_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  action TEXT NOT NULL,
  status_before TEXT NOT NULL,
  spans_before TEXT NOT NULL,
  status_after TEXT NOT NULL,
  spans_after TEXT NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_sentence ON actions (sentence_id, seq);
`;

/** how long a write waits for another process's write to finish before SQLite reports the store busy */
export const BUSY_TIMEOUT_MS = 5000;
/** attempts of a write that found the store busy even after waiting */
export const BUSY_ATTEMPTS = 5;

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface SentenceRow {
  id: string;
  ord: number;
  tokens: string;
  teacher: string;
  rejected: string;
  student: string | null;
  doubt: number;
  reasons: string;
}

export interface ReviewRow {
  status: SentenceStatus;
  spans: string;
  version: number;
  updated_at: string;
}

export function rowToSentence(r: SentenceRow): ReviewSentence {
  const s: ReviewSentence = {
    id: r.id,
    ord: r.ord,
    tokens: JSON.parse(r.tokens) as string[],
    teacher: JSON.parse(r.teacher),
    rejected: JSON.parse(r.rejected),
    doubt: r.doubt,
    reasons: JSON.parse(r.reasons) as string[],
  };
  if (r.student !== null) s.student = JSON.parse(r.student) as StudentEntity[];
  return s;
}
