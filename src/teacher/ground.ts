/**
 * Grounding: turning the teacher's entity strings into TOKEN spans of its sentence, or rejecting them.
 *
 * Matching, in order, stopping at the first level that finds the text:
 *   1. exact — the entity text split on whitespace equals a run of tokens;
 *   2. normalised — Unicode NFKC, curly quotes and dashes folded to ASCII, case folded, whitespace ignored,
 *      and the match must start at a token's start and end at a token's end ("Smith's" finds
 *      `Smith 's`, "eu" finds `EU`);
 *   3. punctuation-insensitive — as 2, with everything but letters and digits removed ("St Louis" finds
 *      `St. Louis`, "\"Reuters\"," finds `Reuters`); tokens that are only punctuation never begin or end a
 *      span.
 *   4. without a leading article — "the European Union" finds `European Union` (only when 1-3 found nothing,
 *      so `The Hague` is still found whole).
 * A span never crosses a token boundary: a text that matches only inside a token ("York" in `NewYork`) is
 * not found. When the text was NOT copied token for token (levels 2-4), a possessive clitic token (`'s`,
 * `'`) at the end of the match is dropped: "Smith's" grounds to `Smith`. An exact copy keeps it, for names
 * that contain it (CoNLL has "Moody 's" ORG, "St. John 's" LOC).
 *
 * Occurrences: an entity without `occurrence` is every occurrence of its text (an entity that occurs twice
 * is labelled twice); with `occurrence: n` only the n-th (1-based), and `n` past the last occurrence is
 * rejected.
 *
 * Rejections (each kept, with its reason, for inspection and counting):
 *   - `not-found`: the text is not in the sentence at any level (a hallucination);
 *   - `unknown-type`: the type is not one of the requested types (after case folding and the aliases
 *     PERSON→PER, ORGANIZATION/ORGANISATION→ORG, LOCATION→LOC, MISCELLANEOUS→MISC where those are requested);
 *   - `occurrence-out-of-range`, `invalid` (empty text, not a string);
 *   - `type-conflict`: the same tokens given two different types in one answer — both are rejected, since
 *     either could be the mistake;
 *   - `overlap`: spans that overlap (nested or crossing). Rule: the LONGER span wins (it is the whole name:
 *     "Bank of England" over "England"); at equal length the one listed first in the answer wins. The loser
 *     is rejected with `conflictsWith` naming the winner.
 */
import type { AnswerEntity } from './prompt.js';

/** a grounded entity: TOKEN offsets into its sentence, end exclusive */
export interface GroundedSpan {
  start: number;
  end: number;
  label: string;
  /** the sentence's tokens start..end joined by spaces */
  text: string;
}

export type RejectReason =
  | 'not-found'
  | 'unknown-type'
  | 'occurrence-out-of-range'
  | 'invalid'
  | 'type-conflict'
  | 'overlap'
  | 'below-confidence';

export interface RejectedEntity {
  /** the text as the teacher gave it */
  text: string;
  /** the type as the teacher gave it */
  type: string;
  reason: RejectReason;
  /** TOKEN offsets, when the text was found */
  start?: number;
  end?: number;
  /** the span that won an overlap or type conflict */
  conflictsWith?: { start: number; end: number; label: string };
  /** share of samples that voted for it (self-consistency) */
  confidence?: number;
  /** which sample (0-based) gave it, when several were drawn */
  sample?: number;
}

export interface GroundResult {
  spans: GroundedSpan[];
  rejected: RejectedEntity[];
  /** how the kept texts were found: exact / normalised / punctuation-insensitive */
  matchedBy: { exact: number; normalised: number; punctuation: number; article: number };
}

/** Start indexes of every run of `tokens` equal to `words` (exact, case-sensitive). */
export function findTokenSequence(tokens: string[], words: string[]): number[] {
  const out: number[] = [];
  if (words.length === 0) return out;
  outer: for (let i = 0; i + words.length <= tokens.length; i++) {
    for (let j = 0; j < words.length; j++) if (tokens[i + j] !== words[j]) continue outer;
    out.push(i);
  }
  return out;
}

const FOLD: Array<[RegExp, string]> = [
  [/[\u2018\u2019\u201a\u201b\u2032\u0060\u00b4]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]/g, '"'],
  [/[\u2010-\u2015\u2212]/g, '-'],
  [/\u2026/g, '...'],
];

function normalise(s: string): string {
  let t = s.normalize('NFKC');
  for (const [re, to] of FOLD) t = t.replace(re, to);
  return t.toLowerCase().replace(/\s+/gu, '');
}

function lettersAndDigits(s: string): string {
  return normalise(s).replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * Spans [start, end) whose tokens, each passed through `form` and concatenated, equal `form(text)`; the
 * match must begin and end on token boundaries, at tokens whose form is not empty.
 */
function findNormalised(tokens: string[], text: string, form: (s: string) => string): Array<[number, number]> {
  const target = form(text);
  if (target === '') return [];
  const forms = tokens.map(form);
  const startAt = new Map<number, number>();
  const endAt = new Map<number, number>();
  let concat = '';
  forms.forEach((f, i) => {
    if (f !== '' && !startAt.has(concat.length)) startAt.set(concat.length, i);
    concat += f;
    if (f !== '') endAt.set(concat.length, i);
  });
  const out: Array<[number, number]> = [];
  for (let p = concat.indexOf(target); p >= 0; p = concat.indexOf(target, p + 1)) {
    const s = startAt.get(p);
    const e = endAt.get(p + target.length);
    if (s !== undefined && e !== undefined && e >= s) out.push([s, e + 1]);
  }
  return out;
}

export type MatchLevel = 'exact' | 'normalised' | 'punctuation' | 'article';

const POSSESSIVE = /^['\u2019]s?$/iu;
const ARTICLE = /^(the|a|an)\s+/iu;

function dropPossessive(tokens: string[], spans: Array<[number, number]>): Array<[number, number]> {
  return spans.map(([s, e]) => (e - s > 1 && POSSESSIVE.test(tokens[e - 1]!) ? [s, e - 1] : [s, e]));
}

/** Every occurrence of `text` as token spans, at the first matching level. */
export function locate(tokens: string[], text: string): { level: MatchLevel; spans: Array<[number, number]> } | undefined {
  const found = locateOnce(tokens, text);
  if (found) return found.level === 'exact' ? found : { level: found.level, spans: dropPossessive(tokens, found.spans) };
  if (ARTICLE.test(text.trim())) {
    const rest = locateOnce(tokens, text.trim().replace(ARTICLE, ''));
    if (rest) return { level: 'article', spans: dropPossessive(tokens, rest.spans) };
  }
  return undefined;
}

function locateOnce(tokens: string[], text: string): { level: MatchLevel; spans: Array<[number, number]> } | undefined {
  const words = text.trim().split(/\s+/u).filter((w) => w !== '');
  const exact = findTokenSequence(tokens, words);
  if (exact.length > 0) return { level: 'exact', spans: exact.map((s) => [s, s + words.length]) };
  const norm = findNormalised(tokens, text, normalise);
  if (norm.length > 0) return { level: 'normalised', spans: norm };
  const punct = findNormalised(tokens, text, lettersAndDigits);
  if (punct.length > 0) return { level: 'punctuation', spans: punct };
  return undefined;
}

const ALIASES: Record<string, string> = {
  PERSON: 'PER',
  PERSONS: 'PER',
  PEOPLE: 'PER',
  ORGANIZATION: 'ORG',
  ORGANISATION: 'ORG',
  LOCATION: 'LOC',
  GPE: 'LOC',
  MISCELLANEOUS: 'MISC',
};

/** the requested type a teacher's type string means, or undefined */
export function resolveType(type: string, types: string[]): string | undefined {
  const t = type.trim();
  if (types.includes(t)) return t;
  const upper = t.toUpperCase();
  const ci = types.find((x) => x.toUpperCase() === upper);
  if (ci) return ci;
  const alias = ALIASES[upper.replace(/[^A-Z]/g, '')];
  return alias && types.includes(alias) ? alias : undefined;
}

interface Candidate extends GroundedSpan {
  /** position in the answer (for ties) */
  order: number;
  given: { text: string; type: string };
}

/**
 * Resolves overlaps among candidate spans: identical spans with the same label merge; the same tokens with
 * different labels are all rejected (`type-conflict`); otherwise spans are taken in `priority` order and a
 * span overlapping one already taken is rejected (`overlap`).
 */
export function resolveOverlaps<T extends { start: number; end: number; label: string }>(
  candidates: T[],
  priority: (a: T, b: T) => number,
): { kept: T[]; conflicts: Array<{ item: T; reason: 'type-conflict' | 'overlap'; with?: T }> } {
  const byRange = new Map<string, T[]>();
  for (const c of candidates) {
    const k = `${c.start}:${c.end}`;
    const list = byRange.get(k) ?? [];
    if (!list.some((x) => x.label === c.label)) list.push(c);
    byRange.set(k, list);
  }
  const conflicts: Array<{ item: T; reason: 'type-conflict' | 'overlap'; with?: T }> = [];
  const unique: T[] = [];
  for (const list of byRange.values()) {
    if (list.length > 1) for (const item of list) conflicts.push({ item, reason: 'type-conflict' });
    else unique.push(list[0]!);
  }
  unique.sort(priority);
  const kept: T[] = [];
  for (const c of unique) {
    const winner = kept.find((k) => c.start < k.end && k.start < c.end);
    if (winner) conflicts.push({ item: c, reason: 'overlap', with: winner });
    else kept.push(c);
  }
  kept.sort((a, b) => a.start - b.start || a.end - b.end);
  return { kept, conflicts };
}

/** Grounds one answer's entities in `tokens`. See the file comment for the rules. */
export function groundEntities(tokens: string[], entities: AnswerEntity[], types: string[]): GroundResult {
  const rejected: RejectedEntity[] = [];
  const candidates: Candidate[] = [];
  const matchedBy = { exact: 0, normalised: 0, punctuation: 0, article: 0 };
  entities.forEach((e, order) => {
    const given = { text: typeof e.text === 'string' ? e.text : String(e.text ?? ''), type: typeof e.type === 'string' ? e.type : String(e.type ?? '') };
    if (typeof e.text !== 'string' || e.text.trim() === '' || typeof e.type !== 'string') {
      rejected.push({ ...given, reason: 'invalid' });
      return;
    }
    const label = resolveType(e.type, types);
    if (!label) {
      rejected.push({ ...given, reason: 'unknown-type' });
      return;
    }
    const found = locate(tokens, e.text);
    if (!found) {
      rejected.push({ ...given, reason: 'not-found' });
      return;
    }
    let spans = found.spans;
    const occ = e.occurrence;
    if (occ !== undefined && occ !== null) {
      const n = Number(occ);
      if (!Number.isInteger(n) || n < 1 || n > spans.length) {
        rejected.push({ ...given, reason: 'occurrence-out-of-range' });
        return;
      }
      spans = [spans[n - 1]!];
    }
    matchedBy[found.level]++;
    for (const [start, end] of spans) {
      candidates.push({ start, end, label, text: tokens.slice(start, end).join(' '), order, given });
    }
  });
  const { kept, conflicts } = resolveOverlaps(
    candidates,
    (a, b) => b.end - b.start - (a.end - a.start) || a.order - b.order || a.start - b.start,
  );
  for (const { item, reason, with: w } of conflicts) {
    rejected.push({
      ...item.given,
      reason,
      start: item.start,
      end: item.end,
      ...(w ? { conflictsWith: { start: w.start, end: w.end, label: w.label } } : {}),
    });
  }
  return {
    spans: kept.map(({ start, end, label, text }) => ({ start, end, label, text })),
    rejected,
    matchedBy,
  };
}
