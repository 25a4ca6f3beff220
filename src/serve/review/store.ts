/**
 * The review store: one SQLite file (better-sqlite3, WAL, synchronous=FULL) holding the sentences under
 * review, each sentence's current working spans, and an append-only log of every action with the spans
 * before and after it. Each action is one transaction, committed before the page hears back, so a reload,
 * a crash or a kill loses nothing that the page showed as saved.
 *
 * Several processes may share one store (two `nerd review` on the same data): every write is an IMMEDIATE
 * transaction (it takes the write lock before reading, so it never has to upgrade a stale read), a busy
 * store is waited for (busy_timeout), and a write that still finds it locked is retried a few times.
 *
 * Sentences are addressed over HTTP by `keyOf(id)`, a fixed-length hash of the id, so an id of any length
 * or spelling fits in a URL path segment.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { InputError } from '../../errors.js';
import { ActionError, applyAction } from './actions.js';
import type { InputSentence } from './data.js';
import { doubtOf } from './doubt.js';
import {
  initialSpans,
  type ReviewAction,
  type ReviewSentence,
  type ReviewSpan,
  type ReviewState,
  type SentenceStatus,
  type StudentEntity,
} from './model.js';
import {
  BUSY_ATTEMPTS,
  BUSY_TIMEOUT_MS,
  isBusy,
  type ReviewRow,
  rowToSentence,
  SCHEMA,
  type SentenceRow,
} from './store-schema.js';

/** The URL key of a sentence id: 32 hex digits of its SHA-256 (ids may be long or hold any character). */
export function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32);
}

export class VersionConflict extends Error {
  constructor(readonly current: ReviewState) {
    super(`this sentence was changed elsewhere (now at version ${current.version}); reload it`);
    this.name = 'VersionConflict';
  }
}

export interface QueueEntry {
  id: string;
  /** the URL key of the id (keyOf) */
  key: string;
  ord: number;
  doubt: number;
  reasons: string[];
  status: SentenceStatus;
  preview: string;
}

export interface ReviewCounts {
  total: number;
  done: number;
  actions: number;
}

export class ReviewStore {
  readonly db: Database.Database;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new InputError(`cannot open review store: ${(err as Error).message}`, file);
    }
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** runs `fn` in an IMMEDIATE transaction, retried while another process holds the store (see the top) */
  private write<T>(fn: () => T): T {
    const tx = this.db.transaction(fn);
    for (let attempt = 1; ; attempt++) {
      try {
        return tx.immediate();
      } catch (err) {
        if (!isBusy(err) || attempt >= BUSY_ATTEMPTS) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt); // brief back-off
      }
    }
  }

  /** key (keyOf) → id, rebuilt when a key is missing (another process may have loaded sentences) */
  private keys = new Map<string, string>();

  /** the sentence whose `keyOf(id)` is `key` */
  sentenceByKey(key: string): ReviewSentence | undefined {
    let id = this.keys.get(key);
    if (id === undefined) {
      this.keys = new Map();
      for (const r of this.db.prepare('SELECT id FROM sentences').iterate() as Iterable<{ id: string }>)
        this.keys.set(keyOf(r.id), r.id);
      id = this.keys.get(key);
    }
    return id === undefined ? undefined : this.sentence(id);
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    const put = this.db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.write(() => put.run(key, value));
  }

  /** entity types offered on the page: stored ones first, then any new ones */
  types(): string[] {
    const raw = this.getMeta('types');
    return raw ? (JSON.parse(raw) as string[]) : [];
  }

  addTypes(types: Iterable<string>): string[] {
    const wanted = [...types];
    return this.write(() => {
      const all = this.types();
      for (const t of wanted) if (!all.includes(t)) all.push(t);
      this.setMeta('types', JSON.stringify(all));
      return all;
    });
  }

  /**
   * Loads (or refreshes) sentences from the data file. A sentence already in the store keeps its review;
   * one whose tokens changed while it has a review is an error (the review would no longer fit it).
   */
  loadSentences(input: InputSentence[], dataFile: string): { added: number; updated: number } {
    const get = this.db.prepare('SELECT tokens FROM sentences WHERE id = ?');
    const hasReview = this.db.prepare('SELECT 1 FROM reviews WHERE sentence_id = ?');
    const upsert = this.db.prepare(
      `INSERT INTO sentences (id, ord, tokens, teacher, rejected, student, doubt, reasons)
       VALUES (@id, @ord, @tokens, @teacher, @rejected, NULL, @doubt, @reasons)
       ON CONFLICT (id) DO UPDATE SET ord = excluded.ord, tokens = excluded.tokens, teacher = excluded.teacher,
         rejected = excluded.rejected, doubt = excluded.doubt, reasons = excluded.reasons,
         student = CASE WHEN sentences.tokens = excluded.tokens THEN sentences.student ELSE NULL END`,
    );
    let added = 0;
    let updated = 0;
    const labels = new Set<string>();
    this.write(() => {
      input.forEach((s, ord) => {
        const tokens = JSON.stringify(s.tokens);
        const prev = get.get(s.id) as { tokens: string } | undefined;
        if (prev && prev.tokens !== tokens && hasReview.get(s.id)) {
          throw new InputError(
            `sentence ${JSON.stringify(s.id)} has different tokens than the reviewed one in ${this.file}; ` +
              'use another --store for a different data set',
            dataFile,
            s.line,
          );
        }
        const d = doubtOf(s.teacher, s.rejected);
        upsert.run({
          id: s.id,
          ord,
          tokens,
          teacher: JSON.stringify(s.teacher),
          rejected: JSON.stringify(s.rejected),
          doubt: d.score,
          reasons: JSON.stringify(d.reasons),
        });
        if (prev) updated++;
        else added++;
        for (const e of s.teacher) labels.add(e.label);
      });
    });
    this.addTypes([...labels].sort());
    this.setMeta('data', dataFile);
    this.rescoreAll();
    return { added, updated };
  }

  /** stores the student's predictions (from `model`) and recomputes every sentence's doubt */
  setStudent(predictions: Map<string, StudentEntity[]>, model: string): void {
    const upd = this.db.prepare('UPDATE sentences SET student = ? WHERE id = ?');
    this.write(() => {
      for (const [id, ents] of predictions) upd.run(JSON.stringify(ents), id);
    });
    this.setMeta('student_model', model);
    this.rescoreAll();
  }

  private rescoreAll(): void {
    const upd = this.db.prepare('UPDATE sentences SET doubt = ?, reasons = ? WHERE id = ?');
    this.write(() => {
      const rows = this.db.prepare('SELECT * FROM sentences').all() as SentenceRow[];
      for (const r of rows) {
        const s = rowToSentence(r);
        const d = doubtOf(s.teacher, s.rejected, s.student);
        upd.run(d.score, JSON.stringify(d.reasons), s.id);
      }
    });
  }

  sentence(id: string): ReviewSentence | undefined {
    const r = this.db.prepare('SELECT * FROM sentences WHERE id = ?').get(id) as SentenceRow | undefined;
    return r ? rowToSentence(r) : undefined;
  }

  allSentences(): ReviewSentence[] {
    return (this.db.prepare('SELECT * FROM sentences ORDER BY ord').all() as SentenceRow[]).map(rowToSentence);
  }

  state(sentence: ReviewSentence): ReviewState {
    const r = this.db
      .prepare('SELECT status, spans, version, updated_at FROM reviews WHERE sentence_id = ?')
      .get(sentence.id) as ReviewRow | undefined;
    if (!r) return { status: 'todo', spans: initialSpans(sentence.teacher), version: 0 };
    return {
      status: r.status,
      spans: JSON.parse(r.spans) as ReviewSpan[],
      version: r.version,
      updatedAt: r.updated_at,
    };
  }

  /** `nerd review --order`: a rank per sentence id (teacher/select.ts) that replaces the doubt order of the queue */
  order?: ReadonlyMap<string, number>;

  /** sentences by doubt (most doubtful first), or by `order` when set, with their review status */
  queue(filter: 'all' | 'todo' | 'done' = 'all'): QueueEntry[] {
    const rows = this.db
      .prepare(
        `SELECT s.id, s.ord, s.doubt, s.reasons, s.tokens, COALESCE(r.status, 'todo') AS status
         FROM sentences s LEFT JOIN reviews r ON r.sentence_id = s.id
         ORDER BY s.doubt DESC, s.ord`,
      )
      .all() as Array<{
      id: string;
      ord: number;
      doubt: number;
      reasons: string;
      tokens: string;
      status: SentenceStatus;
    }>;
    const order = this.order;
    if (order)
      rows.sort(
        (a, b) =>
          (order.get(a.id) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.id) ?? Number.MAX_SAFE_INTEGER) || a.ord - b.ord,
      );
    return rows
      .filter((r) => filter === 'all' || r.status === filter)
      .map((r) => {
        const toks = JSON.parse(r.tokens) as string[];
        const preview = toks.join(' ');
        return {
          id: r.id,
          key: keyOf(r.id),
          ord: r.ord,
          doubt: r.doubt,
          reasons: JSON.parse(r.reasons) as string[],
          status: r.status,
          preview: preview.length > 90 ? `${preview.slice(0, 87)}...` : preview,
        };
      });
  }

  counts(): ReviewCounts {
    const total = (this.db.prepare('SELECT COUNT(*) AS n FROM sentences').get() as { n: number }).n;
    const done = (this.db.prepare("SELECT COUNT(*) AS n FROM reviews WHERE status = 'done'").get() as { n: number }).n;
    const actions = (this.db.prepare('SELECT COUNT(*) AS n FROM actions').get() as { n: number }).n;
    return { total, done, actions };
  }

  /**
   * Applies and saves one action in one transaction. `expectedVersion` (what the page last saw) guards
   * against two tabs overwriting each other. `undo` restores the state before this sentence's last action.
   */
  act(id: string, action: ReviewAction, expectedVersion?: number): ReviewState {
    const sentence = this.sentence(id);
    if (!sentence) throw new ActionError(`no sentence with id ${JSON.stringify(id)}`);
    const types = this.types();
    return this.write((): ReviewState => {
      const before = this.state(sentence);
      if (expectedVersion !== undefined && expectedVersion !== before.version) throw new VersionConflict(before);
      let after: Pick<ReviewState, 'status' | 'spans'>;
      if (action.type === 'undo') {
        const last = this.db
          .prepare(
            "SELECT seq, status_before, spans_before FROM actions WHERE sentence_id = ? AND undone = 0 AND kind <> 'undo' ORDER BY seq DESC LIMIT 1",
          )
          .get(id) as { seq: number; status_before: SentenceStatus; spans_before: string } | undefined;
        if (!last) throw new ActionError('nothing to undo for this sentence');
        this.db.prepare('UPDATE actions SET undone = 1 WHERE seq = ?').run(last.seq);
        after = { status: last.status_before, spans: JSON.parse(last.spans_before) as ReviewSpan[] };
      } else {
        after = applyAction(sentence, before, action, types);
      }
      const now = new Date().toISOString();
      const version = before.version + 1;
      this.db
        .prepare(
          `INSERT INTO reviews (sentence_id, status, spans, version, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (sentence_id) DO UPDATE SET status = excluded.status, spans = excluded.spans,
             version = excluded.version, updated_at = excluded.updated_at`,
        )
        .run(id, after.status, JSON.stringify(after.spans), version, now);
      this.db
        .prepare(
          `INSERT INTO actions (sentence_id, kind, action, status_before, spans_before, status_after, spans_after, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          action.type,
          JSON.stringify(action),
          before.status,
          JSON.stringify(before.spans),
          after.status,
          JSON.stringify(after.spans),
          now,
        );
      return { status: after.status, spans: after.spans, version, updatedAt: now };
    });
  }

  /** reviewed (status done) sentences with their final spans, in data-file order */
  reviewed(): Array<{ sentence: ReviewSentence; spans: ReviewSpan[]; updatedAt: string }> {
    const rows = this.db
      .prepare(
        `SELECT s.*, r.spans AS review_spans, r.updated_at AS review_at FROM sentences s
         JOIN reviews r ON r.sentence_id = s.id WHERE r.status = 'done' ORDER BY s.ord`,
      )
      .all() as Array<SentenceRow & { review_spans: string; review_at: string }>;
    return rows.map((r) => ({
      sentence: rowToSentence(r),
      spans: JSON.parse(r.review_spans) as ReviewSpan[],
      updatedAt: r.review_at,
    }));
  }
}
