import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { applyAction, ActionError } from '../../src/serve/review/actions.js';
import { readReviewData } from '../../src/serve/review/data.js';
import { agreement, doubtOf } from '../../src/serve/review/doubt.js';
import { exportReviewed, exportToFile } from '../../src/serve/review/export.js';
import { initialSpans, type ReviewSentence } from '../../src/serve/review/model.js';
import { ReviewStore, VersionConflict } from '../../src/serve/review/store.js';
import { conllDev, tempDir, writeTeacherData } from './fixtures.js';

const open: ReviewStore[] = [];
function openStore(file: string): ReviewStore {
  const s = new ReviewStore(file);
  open.push(s);
  return s;
}
afterEach(() => {
  while (open.length) {
    try {
      open.pop()!.close();
    } catch {
      /* already closed */
    }
  }
});

const sentence: ReviewSentence = {
  id: 's1',
  ord: 0,
  tokens: ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.'],
  teacher: [
    { start: 0, end: 1, label: 'ORG', confidence: 1 },
    { start: 2, end: 3, label: 'MISC', confidence: 0.67 },
  ],
  rejected: [],
  doubt: 0,
  reasons: [],
};
const TYPES = ['LOC', 'MISC', 'ORG', 'PER'];

describe('review actions', () => {
  const state = { status: 'todo' as const, spans: initialSpans(sentence.teacher), version: 0 };

  it('fixes a span, changes a type, adds and rejects entities', () => {
    let s = applyAction(sentence, state, { type: 'set-span', span: 2, start: 2, end: 4 }, TYPES);
    expect(s.spans.find((x) => x.id === 2)).toMatchObject({ start: 2, end: 4, status: 'edited' });
    s = applyAction(sentence, { ...state, ...s }, { type: 'set-label', span: 1, label: 'LOC' }, TYPES);
    expect(s.spans[0]).toMatchObject({ label: 'LOC', status: 'edited' });
    s = applyAction(sentence, { ...state, ...s }, { type: 'add-entity', start: 6, end: 7, label: 'MISC' }, TYPES);
    expect(s.spans.map((x) => [x.start, x.end, x.label])).toEqual([
      [0, 1, 'LOC'],
      [2, 4, 'MISC'],
      [6, 7, 'MISC'],
    ]);
    s = applyAction(sentence, { ...state, ...s }, { type: 'reject-entity', span: 1 }, TYPES);
    expect(s.spans).toHaveLength(2);
    s = applyAction(sentence, { ...state, ...s }, { type: 'accept-sentence' }, TYPES);
    expect(s.status).toBe('done');
  });

  it('refuses overlaps, spans off the sentence and unknown types', () => {
    expect(() => applyAction(sentence, state, { type: 'set-span', span: 1, start: 0, end: 3 }, TYPES)).toThrow(
      /overlap MISC "German"/,
    );
    expect(() => applyAction(sentence, state, { type: 'set-span', span: 2, start: 2, end: 10 }, TYPES)).toThrow(
      ActionError,
    );
    expect(() => applyAction(sentence, state, { type: 'set-span', span: 2, start: 3, end: 3 }, TYPES)).toThrow(
      ActionError,
    );
    expect(() => applyAction(sentence, state, { type: 'set-label', span: 2, label: 'FOOD' }, TYPES)).toThrow(
      /unknown entity type "FOOD"/,
    );
    expect(() => applyAction(sentence, state, { type: 'accept-entity', span: 99 }, TYPES)).toThrow(
      /no span with id 99/,
    );
  });
});

describe('doubt', () => {
  it('adds low votes, teacher/student disagreement and rejections', () => {
    expect(doubtOf([{ start: 0, end: 1, label: 'PER', confidence: 1 }], []).score).toBe(0);
    const d = doubtOf(
      [
        { start: 0, end: 1, label: 'PER', confidence: 0.34 },
        { start: 2, end: 3, label: 'LOC', confidence: 1 },
      ],
      [{ text: 'x' }],
      [{ start: 0, end: 1, label: 'PER', score: 0.9 }],
    );
    // 0.66 (vote) + 1 - 2/3 (F1 of 1 match over 2+1) + 0.5 (one rejection)
    expect(d.score).toBeCloseTo(0.66 + 1 / 3 + 0.5, 3);
    expect(d.reasons).toEqual(['low vote 0.34', 'student disagrees (F1 0.67)', '1 rejected']);
    expect(agreement([], [])).toBe(1);
  });
});

describe('review data', () => {
  it('reads a CoNLL corpus through the corpus readers', () => {
    const dir = tempDir();
    const file = path.join(dir, 'small.conll');
    writeFileSync(file, 'EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\nPeter B-PER\nBlackburn I-PER\n');
    const got = readReviewData(file);
    expect(got.map((s) => [s.tokens.length, s.teacher.map((e) => [e.start, e.end, e.label])])).toEqual([
      [
        4,
        [
          [0, 1, 'ORG'],
          [2, 3, 'MISC'],
        ],
      ],
      [2, [[0, 2, 'PER']]],
    ]);
    expect(new Set(got.map((s) => s.id)).size).toBe(2);
  });

  it("reads the teacher's output line as `nerd annotate` documents it", () => {
    const dir = tempDir();
    const file = path.join(dir, 'annotated.jsonl');
    writeFileSync(
      file,
      '{"id": "s1", "tokens": ["EU", "rejects", "German", "call"], ' +
        '"entities": [{"start": 0, "end": 1, "label": "ORG", "text": "EU", "confidence": 1, "charStart": 0, "charEnd": 2}], ' +
        '"rejected": [{"text": "Brussels", "type": "LOC", "reason": "not-found"}], ' +
        '"teacher": {"model": "gpt-4o-2024-08-06", "samples": 1}}\n',
    );
    const [s] = readReviewData(file);
    expect(s).toMatchObject({
      id: 's1',
      teacher: [{ start: 0, end: 1, label: 'ORG', confidence: 1 }],
      rejected: [{ type: 'LOC', reason: 'not-found' }],
    });
  });

  it('reads teacher JSONL and names the line of a bad record', () => {
    const dir = tempDir();
    const file = writeTeacherData(dir, 5);
    expect(readReviewData(file)).toHaveLength(5);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      readFileSync(file, 'utf8').split('\n').slice(0, 2).join('\n') +
        '\n{"id":"x","tokens":["a","b"],"entities":[{"start":1,"end":3,"label":"PER"}]}\n',
    );
    try {
      readReviewData(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).format()).toMatch(
        /bad\.jsonl:3: entities\[0\]: span \[1, 3\) is outside the sentence's 2 tokens/,
      );
    }
  });
});

describe('review store (SQLite)', () => {
  it('orders by doubt, saves every action at once, keeps it across reopen, undoes, and exports', () => {
    const dir = tempDir();
    const data = writeTeacherData(dir, 12);
    const file = path.join(dir, 'review.sqlite');
    let store = openStore(file);
    store.loadSentences(readReviewData(data), data);
    const queue = store.queue();
    expect(queue).toHaveLength(12);
    for (let i = 1; i < queue.length; i++) expect(queue[i - 1]!.doubt).toBeGreaterThanOrEqual(queue[i]!.doubt);
    expect(queue[0]!.doubt).toBeGreaterThan(0);

    const first = store.sentence(queue[0]!.id)!;
    const st0 = store.state(first);
    expect(st0.version).toBe(0);
    const target = st0.spans[0]!;
    const st1 = store.act(
      first.id,
      { type: 'set-label', span: target.id, label: target.label === 'PER' ? 'ORG' : 'PER' },
      0,
    );
    expect(st1.version).toBe(1);
    expect(() => store.act(first.id, { type: 'accept-sentence' }, 0)).toThrow(VersionConflict);
    store.act(first.id, { type: 'accept-sentence' }, 1);
    store.close();

    // a new connection (as after a crash or restart) sees everything
    store = openStore(file);
    store.loadSentences(readReviewData(data), data); // reloading the same data keeps the reviews
    const st2 = store.state(store.sentence(first.id)!);
    expect(st2.status).toBe('done');
    expect(st2.spans[0]!.label).not.toBe(target.label);
    expect(store.counts()).toMatchObject({ total: 12, done: 1, actions: 2 });

    // undo twice: back to the teacher's spans, sentence not reviewed
    store.act(first.id, { type: 'undo' });
    const st3 = store.act(first.id, { type: 'undo' });
    expect(st3.status).toBe('todo');
    expect(st3.spans).toEqual(initialSpans(first.teacher));
    expect(() => store.act(first.id, { type: 'undo' })).toThrow(/nothing to undo/);

    // export only reviewed sentences, in CoNLL and token JSONL
    const second = store.sentence(queue[1]!.id)!;
    const sp = store.state(second).spans[0]!;
    store.act(second.id, { type: 'set-span', span: sp.id, start: sp.start, end: sp.end + 1 });
    store.act(second.id, { type: 'accept-sentence' });
    const jsonl = exportReviewed(store, 'jsonl');
    expect(jsonl.count).toBe(1);
    const rec = JSON.parse(jsonl.text.trim());
    expect(rec.id).toBe(second.id);
    expect(rec.entities[0]).toMatchObject({ start: sp.start, end: sp.end + 1, label: sp.label });
    const conll = exportToFile(store, path.join(dir, 'out.conll'));
    expect(conll).toEqual({ count: 1, format: 'conll' });
    const lines = readFileSync(path.join(dir, 'out.conll'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(second.tokens.length);
    expect(lines[sp.start]).toBe(`${second.tokens[sp.start]} B-${sp.label}`);
    expect(lines[sp.end]).toBe(`${second.tokens[sp.end]} I-${sp.label}`);
    expect(existsSync(path.join(dir, 'out.conll.tmp-' + process.pid))).toBe(false);
  });

  it('refuses data whose tokens changed under an existing review', () => {
    const dir = tempDir();
    const data = writeTeacherData(dir, 3);
    const store = openStore(path.join(dir, 'r.sqlite'));
    store.loadSentences(readReviewData(data), data);
    store.act('dev-0', { type: 'accept-sentence' });
    const changed = readFileSync(data, 'utf8').replace('"tokens":["', '"tokens":["CHANGED","');
    const data2 = path.join(dir, 'changed.jsonl');
    writeFileSync(data2, changed);
    expect(() => store.loadSentences(readReviewData(data2), data2)).toThrow(/dev-0.*different tokens/);
    expect(conllDev(1)[0]!.tokens.length).toBeGreaterThan(3);
  });
});
