/**
 * Finding and reading the final JSON answer in a teacher's reply.
 *
 * Where the answer may be (tried in this order, the first that reads as an answer wins):
 *   1. the whole message (structured output, or a model that answers with JSON only);
 *   2. a fenced code block (```json … ``` or plain ```), the LAST one first;
 *   3. a balanced `{…}` object in the text (after the reasoning), the LAST one first.
 * Each candidate is read with JSON.parse, then with `jsonrepair` (trailing commas, single quotes, unquoted
 * keys, comments, Python literals, …), then with list bullets ("- ", "* ", "• ", "1. ") stripped from line
 * starts and repaired again.
 *
 * What is NOT accepted: an unbalanced object (the reply stopped inside the JSON). A lenient parser would
 * happily close it and return the entities seen so far, silently dropping the rest — so a truncated answer
 * is a parse failure to retry, never a partial answer.
 *
 * Shapes read (see PROMPT_PROTOCOL in prompt.ts): `{"entities":[…]}` (single sentence), `{"results":[{"id",
 * "entities"}]}` (also under "sentences"/"answers", or a top-level array of those), an object keyed by id
 * (`{"1":[…],"2":[…]}`), a bare array of entities; entities as `{text,type,occurrence?}` (also `entity`/
 * `name`/`span` for text and `label`/`entity_type`/`category` for type), `[text, type]` pairs, or a mapping
 * type → [texts].
 */
import { jsonrepair } from 'jsonrepair';
import type { AnswerEntity } from './prompt.js';

export class AnswerParseError extends Error {
  constructor(
    message: string,
    /** what to tell the model in a re-ask (e.g. "invalid JSON at line 3, column 5: ...") */
    readonly feedback: string = message,
  ) {
    super(message);
    this.name = 'AnswerParseError';
  }
}

export interface ParsedAnswer {
  /** entities per request-local id; an id absent here was missing from the answer */
  results: Map<string, AnswerEntity[]>;
  /** ids in the answer that the request did not have */
  unknownIds: string[];
  /** ids the answer gave more than once (their entities cannot be credited with confidence) */
  duplicateIds: string[];
  /** where the JSON was found */
  source: 'whole' | 'fenced' | 'embedded';
  /** true when the JSON needed repair */
  repaired: boolean;
}

/**
 * Walks `text` from `from`, calling `visit(index, char)` for every character outside JSON strings (escapes
 * inside strings are skipped) until `visit` returns true. Returns where it stopped (-1: the end) and whether
 * it ended inside a string.
 */
function scanOutsideStrings(
  text: string,
  from: number,
  visit: (j: number, c: string) => boolean,
): { stoppedAt: number; inString: boolean } {
  let inString = false;
  for (let j = from; j < text.length; j++) {
    const c = text[j]!;
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (visit(j, c)) return { stoppedAt: j, inString };
  }
  return { stoppedAt: -1, inString };
}

/** passes over the text `balancedObjects` may make: the first, and restarts after an unclosed `{` */
const MAX_PASSES = 8;

/**
 * Top-level balanced `{…}` substrings (string- and escape-aware inside objects), in order of appearance.
 *
 * Linear time: one pass keeps a stack of open braces and records every object as it closes (an object
 * closed inside a recorded one replaces nothing; one that encloses recorded ones replaces them). Quotes in
 * prose outside any object are not strings. An object left open at the end may have been misread (a stray
 * quote inside it hides the braces after it), so the pass is repeated from just after that brace, at most
 * MAX_PASSES times in all — so a reply of 200 KB of `{"a":` costs a few passes, not one pass per brace.
 * `work.steps`, when given, counts characters visited (for tests of the bound).
 */
export function balancedObjects(text: string, work?: { steps: number }): string[] {
  let found: Array<[number, number]> = [];
  let from = text.indexOf('{');
  for (let pass = 0; pass < MAX_PASSES && from >= 0; pass++) {
    const kept = found.filter(([o]) => o < from);
    const fresh: Array<[number, number]> = [];
    const stack: number[] = [];
    let inString = false;
    let j = from;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (inString) {
        if (c === 92)
          j++; // backslash: skip the escaped character
        else if (c === 34) inString = false;
        continue;
      }
      if (c === 123) stack.push(j);
      else if (c === 125) {
        const open = stack.pop();
        if (open === undefined) continue;
        while (fresh.length > 0 && fresh[fresh.length - 1]![0] > open) fresh.pop();
        fresh.push([open, j]);
      } else if (c === 34 && stack.length > 0) inString = true;
    }
    if (work) work.steps += j - from;
    found = [...kept, ...fresh];
    if (stack.length === 0) break;
    from = text.indexOf('{', stack[0]! + 1);
  }
  return found.map(([o, e]) => text.slice(o, e + 1));
}

/**
 * Whether every `{`/`[` in `text` is closed (string-aware): a JSON value cut off mid-way is not, and must
 * not be "repaired" into a shorter answer.
 */
export function isClosed(text: string): boolean {
  let depth = 0;
  const { inString } = scanOutsideStrings(text, 0, (_j, c) => {
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    return false;
  });
  return depth <= 0 && !inString;
}

function fencedBlocks(text: string): string[] {
  const out: string[] = [];
  const re = /```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]!.trim());
  return out;
}

function stripBullets(s: string): string {
  return s.replace(/^[ \t]*(?:[-*•]|\d+[.)])[ \t]+(?=[{["'])/gmu, '');
}

/**
 * Single-quoted JSON-ish text with double quotes as delimiters, telling a delimiter from an apostrophe by
 * its neighbours: a `'` opens a string after `{ [ , :` (spaces aside) and closes it before `, } ] :` (or the
 * end). So `{text:'Lord 's'}` reads as "Lord 's" — a generic repair would end the string at the apostrophe.
 * Double-quoted strings are copied as they are. Linear.
 */
export function requote(text: string): string {
  const out: string[] = [];
  let mode: 'out' | 'dq' | 'sq' = 'out';
  let lastSignificant = '';
  for (let j = 0; j < text.length; j++) {
    const c = text[j]!;
    if (mode === 'dq') {
      out.push(c);
      if (c === '\\') out.push(text[++j] ?? '');
      else if (c === '"') mode = 'out';
      continue;
    }
    if (mode === 'sq') {
      if (c === '\\') {
        const n = text[++j] ?? '';
        out.push(n === "'" ? "'" : `\\${n}`);
      } else if (c === "'") {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (k >= text.length || ',}]:'.includes(text[k]!)) {
          out.push('"');
          mode = 'out';
        } else out.push("'");
      } else out.push(c === '"' ? '\\"' : c);
      continue;
    }
    if (c === '"') mode = 'dq';
    else if (c === "'" && (lastSignificant === '' || '{[,:'.includes(lastSignificant))) {
      out.push('"');
      mode = 'sq';
      lastSignificant = "'";
      continue;
    }
    out.push(c);
    if (!/\s/.test(c)) lastSignificant = c;
  }
  return out.join('');
}

function readJson(candidate: string): { value: unknown; repaired: boolean } | undefined {
  try {
    return { value: JSON.parse(candidate), repaired: false };
  } catch {
    /* try repairs */
  }
  // bullets first: jsonrepair would read a "- " bullet as the number -0; single quotes told from apostrophes
  const variants = candidate.includes("'")
    ? [requote(stripBullets(candidate)), stripBullets(candidate), candidate]
    : [stripBullets(candidate), candidate];
  for (const text of variants) {
    try {
      return { value: JSON.parse(jsonrepair(text)), repaired: true };
    } catch {
      /* next */
    }
  }
  return undefined;
}

const TEXT_KEYS = ['text', 'entity', 'name', 'span', 'word', 'mention', 'value'];
const TYPE_KEYS = ['type', 'label', 'entity_type', 'entityType', 'category', 'tag', 'class'];

function pick(o: Record<string, unknown>, keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  const lower = new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
  for (const k of keys) if (lower.get(k.toLowerCase()) !== undefined) return lower.get(k.toLowerCase());
  return undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** one entity in any accepted form; malformed ones come back with non-string fields (grounding rejects them) */
function toEntity(item: unknown): AnswerEntity {
  if (Array.isArray(item)) return { text: item[0] as string, type: item[1] as string };
  if (isRecord(item)) {
    const occ = pick(item, ['occurrence', 'occurence', 'index']);
    const e: AnswerEntity = { text: pick(item, TEXT_KEYS) as string, type: pick(item, TYPE_KEYS) as string };
    if (occ !== undefined && occ !== null) e.occurrence = Number(occ);
    return e;
  }
  return { text: typeof item === 'string' ? item : String(item), type: undefined as unknown as string };
}

/** an entity list in any accepted form, or undefined when `x` is not one */
function toEntities(x: unknown): AnswerEntity[] | undefined {
  if (Array.isArray(x)) return x.map(toEntity);
  if (isRecord(x) && Object.values(x).every((v) => Array.isArray(v))) {
    // { "PER": ["Phil Simmons"], "ORG": [...] }
    const out: AnswerEntity[] = [];
    for (const [type, list] of Object.entries(x)) {
      for (const t of list as unknown[]) out.push(isRecord(t) ? { ...toEntity(t), type } : { text: t as string, type });
    }
    return out;
  }
  return undefined;
}

const LIST_KEYS = ['results', 'sentences', 'answers', 'annotations', 'items'];

/** reads an answer's value into per-id entity lists; undefined when it is not an answer */
type Results = { results: Map<string, AnswerEntity[]>; unknownIds: string[]; duplicateIds: string[] };

/**
 * An answer about ONE sentence that names it with another id (`{"id": "0", "entities": [...]}`) cannot
 * credit the wrong sentence: its entities are the asked sentence's. (In a batch an unknown id makes every
 * credit doubtful; the job asks those sentences again alone.)
 */
function toResults(value: unknown, ids: string[]): Results | undefined {
  const r = readResults(value, ids);
  if (!r || ids.length !== 1) return r;
  const stray = r.results.get(UNKNOWN);
  r.results.delete(UNKNOWN);
  if (stray && !r.results.has(ids[0]!) && r.unknownIds.length === 1) {
    r.results.set(ids[0]!, stray);
    r.unknownIds = [];
  }
  return r;
}

/** the slot of a single-sentence answer's entities under an id that was not asked */
const UNKNOWN = '\u0000unknown';

function readResults(value: unknown, ids: string[]): Results | undefined {
  const results = new Map<string, AnswerEntity[]>();
  const unknownIds: string[] = [];
  const duplicateIds: string[] = [];
  const single = ids.length === 1;
  const add = (id: string, entities: AnswerEntity[]): void => {
    if (!ids.includes(id)) {
      unknownIds.push(id);
      // a single-sentence request: keep the stray entities (toResults decides)
      if (single && !results.has(UNKNOWN)) results.set(UNKNOWN, entities);
    } else if (results.has(id)) {
      if (!duplicateIds.includes(id)) duplicateIds.push(id);
      results.set(id, [...results.get(id)!, ...entities]);
    } else results.set(id, entities);
  };
  const fromList = (list: unknown[]): boolean => {
    if (!list.every((r) => isRecord(r) && pick(r, ['entities', 'entity_list']) !== undefined)) return false;
    list.forEach((r, i) => {
      const rec = r as Record<string, unknown>;
      const rawId = pick(rec, ['id', 'sentence_id', 'sentenceId']);
      const id =
        rawId !== undefined && rawId !== null ? String(rawId) : list.length === ids.length ? ids[i]! : `#${i + 1}`;
      add(id, toEntities(pick(rec, ['entities', 'entity_list'])) ?? []);
    });
    return true;
  };
  if (isRecord(value)) {
    const entities = pick(value, ['entities']);
    if (entities !== undefined) {
      const list = toEntities(entities);
      if (!list) return undefined;
      const id = value.id !== undefined ? String(value.id) : ids.length === 1 ? ids[0]! : undefined;
      if (id === undefined) return undefined;
      add(id, list);
      return { results, unknownIds, duplicateIds };
    }
    for (const k of LIST_KEYS) {
      const list = pick(value, [k]);
      if (Array.isArray(list)) return fromList(list) ? { results, unknownIds, duplicateIds } : undefined;
    }
    // keyed by id: {"1": [...], "2": [...]}
    const keys = Object.keys(value).filter((k) => k !== 'reasoning');
    if (keys.length > 0 && keys.some((k) => ids.includes(k))) {
      for (const k of keys) {
        const v = value[k];
        const list =
          isRecord(v) && pick(v, ['entities']) !== undefined ? toEntities(pick(v, ['entities'])) : toEntities(v);
        if (!list) return undefined;
        add(k, list);
      }
      return { results, unknownIds, duplicateIds };
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && fromList(value)) return { results, unknownIds, duplicateIds };
    if (ids.length === 1 && value.every((v) => isRecord(v) || Array.isArray(v))) {
      add(ids[0]!, value.map(toEntity));
      return { results, unknownIds, duplicateIds };
    }
  }
  return undefined;
}

/**
 * Reads the final answer of a reply to a request about `ids` (request-local sentence ids). Throws
 * AnswerParseError when no answer can be found (including an answer cut off inside its JSON).
 */
export function parseAnswer(text: string, ids: string[]): ParsedAnswer {
  const trimmed = text.trim();
  const candidates: Array<{ text: string; source: ParsedAnswer['source'] }> = [];
  if (/^[[{]/.test(trimmed)) candidates.push({ text: trimmed, source: 'whole' });
  for (const block of fencedBlocks(text).reverse())
    if (/^[[{]/.test(block)) candidates.push({ text: block, source: 'fenced' });
  for (const obj of balancedObjects(text).reverse()) candidates.push({ text: obj, source: 'embedded' });
  let firstInvalid: string | undefined;
  let cutOff = false;
  for (const c of candidates) {
    // a cut-off value (the whole message, or a fenced block closed after the cut) is not repaired into a
    // shorter answer; a complete object inside it may still be found among the embedded candidates
    if (!isClosed(c.text)) {
      cutOff = true;
      continue;
    }
    const read = readJson(c.text);
    if (!read) {
      firstInvalid ??= jsonErrorAt(c.text);
      continue;
    }
    const res = toResults(read.value, ids);
    if (res) return { ...res, source: c.source, repaired: read.repaired };
  }
  if ((candidates.length === 0 || cutOff) && /\{\s*["']?(entities|results)/.test(text) && !firstInvalid) {
    throw new AnswerParseError(
      'the answer JSON is cut off (unbalanced braces)',
      'your answer stopped before its JSON was complete (unbalanced braces)',
    );
  }
  if (firstInvalid)
    throw new AnswerParseError(`invalid JSON: ${firstInvalid}`, `your answer's JSON is invalid: ${firstInvalid}`);
  throw new AnswerParseError(
    candidates.length === 0
      ? 'no JSON answer in the reply'
      : 'no JSON object in the reply has the answer shape ({"entities":[...]} or {"results":[...]})',
  );
}

/** where JSON.parse fails in `candidate`, as "line L, column C: message" (lines of the candidate) */
function jsonErrorAt(candidate: string): string {
  try {
    JSON.parse(candidate);
    return 'unreadable';
  } catch (err) {
    const msg = (err as Error).message;
    const m = /position (\d+)/.exec(msg);
    if (!m) return msg.slice(0, 120);
    const pos = Number(m[1]);
    const before = candidate.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    return `line ${line}, column ${col}: ${msg.replace(/ in JSON at position \d+.*$/, '').slice(0, 100)}`;
  }
}
