/**
 * Grounding: turning the teacher's entity strings into TOKEN spans of its sentence, or rejecting them.
 *
 * Finding a text and its boundaries: spans.ts (`findText`, then the span conventions — leading articles,
 * edge punctuation and quotes, possessive clitics, answers inside a token — applied the same way however
 * the text was found).
 *
 * Occurrences. A text may occur several times in a sentence; the listings of one text (all entities whose
 * text finds the same occurrences, e.g. "Paris" and "paris") share them out:
 *   - a listing with a valid `occurrence: n` (1-based) takes the n-th occurrence;
 *   - the other listings ("free": no occurrence, null, 0, not a number, or past the last occurrence) share
 *     the occurrences that no `occurrence: n` listing took: one type among them → every such occurrence
 *     gets it; several types ("Paris" as PER, then as LOC) → the i-th free listing takes the i-th occurrence,
 *     in the order of the answer; more free listings than occurrences left → each is tried everywhere, and
 *     the same tokens with two types are a `type-conflict` (below);
 *   - tolerance: `occurrence: 1` on the ONLY listing of a text counts as free (models that must fill the
 *     field write 1 meaning "this name"): in CoNLL-2003 train, when a repeated text's first occurrence is an
 *     entity, its later occurrences outside longer entities have the same type in 262 of 264 cases.
 *
 * Rejections (each kept, with its reason, for inspection and counting):
 *   - `not-found`: the text is not in the sentence at any level (a hallucination);
 *   - `unknown-type`: the type is not one of the requested types (after case folding and the aliases
 *     PERSON→PER, ORGANIZATION/ORGANISATION→ORG, LOCATION→LOC, MISCELLANEOUS→MISC where those are requested);
 *   - `invalid`: empty text, not a string, or nothing but punctuation or an article;
 *   - `type-conflict`: the same tokens given two different types in one answer — both are rejected, since
 *     either could be the mistake;
 *   - `overlap`: spans that overlap (nested or crossing). Rule: the LONGER span wins (it is the whole name:
 *     "Bank of England" over "England"); at equal length the one listed first in the answer wins. The loser
 *     is rejected with `conflictsWith` naming the winner.
 */
import type { AnswerEntity } from './prompt.js';
import { DEFAULT_CONVENTIONS, findText, type MatchLevel, type SpanConventions } from './spans.js';

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
  /** no longer given (a wrong occurrence now means every occurrence); kept so older output files type-check */
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

export type { MatchLevel };

/** Every occurrence of `text` as token spans, conventions applied (spans.ts `findText`). */
export function locate(
  tokens: string[],
  text: string,
  conventions: SpanConventions = DEFAULT_CONVENTIONS,
): { level: MatchLevel; spans: Array<[number, number]> } | undefined {
  return findText(tokens, text, conventions);
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

interface Listing {
  order: number;
  given: { text: string; type: string };
  label: string;
  spans: Array<[number, number]>;
  /** the 1-based occurrence asked for, when valid */
  occurrence?: number;
}

/** Grounds one answer's entities in `tokens`. See the file comment for the rules. */
export function groundEntities(
  tokens: string[],
  entities: AnswerEntity[],
  types: string[],
  conventions: SpanConventions = DEFAULT_CONVENTIONS,
): GroundResult {
  const rejected: RejectedEntity[] = [];
  const candidates: Candidate[] = [];
  const matchedBy = { exact: 0, normalised: 0, punctuation: 0, article: 0 };
  const groups = new Map<string, Listing[]>();
  /** an answer that repeats a text is searched once for it */
  const seenTexts = new Map<string, ReturnType<typeof findText> | null>();
  entities.forEach((e, order) => {
    const given = {
      text: typeof e.text === 'string' ? e.text : String(e.text ?? ''),
      type: typeof e.type === 'string' ? e.type : String(e.type ?? ''),
    };
    if (typeof e.text !== 'string' || e.text.trim() === '' || typeof e.type !== 'string') {
      rejected.push({ ...given, reason: 'invalid' });
      return;
    }
    const label = resolveType(e.type, types);
    if (!label) {
      rejected.push({ ...given, reason: 'unknown-type' });
      return;
    }
    let found = seenTexts.get(e.text);
    if (found === undefined) seenTexts.set(e.text, (found = findText(tokens, e.text, conventions) ?? null));
    if (!found) {
      rejected.push({ ...given, reason: /[\p{L}\p{N}]/u.test(e.text) ? 'not-found' : 'invalid' });
      return;
    }
    matchedBy[found.level]++;
    const n = e.occurrence === undefined || e.occurrence === null ? NaN : Number(e.occurrence);
    const listing: Listing = { order, given, label, spans: found.spans };
    if (Number.isInteger(n) && n >= 1 && n <= found.spans.length) listing.occurrence = n;
    const key = found.spans.map(([s, t]) => `${s}:${t}`).join(',');
    const group = groups.get(key);
    if (group) group.push(listing);
    else groups.set(key, [listing]);
  });
  const push = (l: Listing, [start, end]: [number, number]): void => {
    candidates.push({
      start,
      end,
      label: l.label,
      text: tokens.slice(start, end).join(' '),
      order: l.order,
      given: l.given,
    });
  };
  for (const listings of groups.values()) {
    // tolerance: "occurrence": 1 on the only listing of a text means the text
    if (listings.length === 1 && listings[0]!.occurrence === 1) delete listings[0]!.occurrence;
    const spans = listings[0]!.spans;
    const taken = new Set<number>();
    for (const l of listings) {
      if (l.occurrence === undefined) continue;
      taken.add(l.occurrence - 1);
      push(l, spans[l.occurrence - 1]!);
    }
    const free = listings.filter((l) => l.occurrence === undefined);
    const left = spans.map((_, i) => i).filter((i) => !taken.has(i));
    if (free.length === 0) continue;
    if (new Set(free.map((l) => l.label)).size === 1) {
      // one type: every occurrence left (the same text listed twice with one type is one listing)
      for (const i of left) push(free[0]!, spans[i]!);
      continue;
    }
    if (free.length > left.length) {
      // more types than occurrences: a real disagreement, rejected below as a type conflict (one listing
      // per type is enough for that, and bounds the work whatever the answer repeats)
      const seen = new Set<string>();
      const perType = free.filter((l) => !seen.has(l.label) && seen.add(l.label));
      for (const l of perType) for (const i of left) push(l, spans[i]!);
      continue;
    }
    // several types for one text without occurrences: in order of occurrence
    free.forEach((l, i) => push(l, spans[left[i]!]!));
  }
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
