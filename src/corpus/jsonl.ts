/**
 * The two JSONL formats, one sentence per line (blank lines skipped):
 *
 * Character-offset JSONL (`jsonl`), the shape spaCy/Prodigy/Doccano users have:
 *   {"id"?: ..., "text": "EU rejects German call", "entities": [{"start": 0, "end": 2, "label": "ORG"}]}
 *   `start`/`end` are CHARACTER offsets into `text` (UTF-16 code units, end exclusive). Also read: Prodigy's
 *   `"spans"` and Doccano's `"label": [[start, end, "ORG"]]` in place of `"entities"`, and entities given as
 *   `[start, end, label]` triples. The text is split into tokens by `tokenize` (words.ts: the project's one
 *   word split) unless the record carries `"tokens"` (strings found in order in the text, or Prodigy's
 *   `{"text","start","end"}` objects).
 *   Every entity must begin at a token's first character and end at a token's last, else it is an error.
 *
 * Token JSONL (`tokens-jsonl`), the Hugging Face datasets shape:
 *   {"id"?: ..., "tokens": ["EU", "rejects", ...], "tags": ["B-ORG", "O", ...]}   (`ner_tags` also read)
 *   or, as the teacher writes it, TOKEN-offset entities instead of tags (other fields are ignored):
 *   {"id": "s1", "tokens": [...], "entities": [{"start": 0, "end": 1, "label": "ORG", "confidence": 0.8}]}
 *
 * Both also carry, when the corpus has them, `"columns"` (extra CoNLL columns, one array per column) and
 * `"docStart": true` (a `-DOCSTART-` preceded the sentence), so CoNLL → JSONL → CoNLL loses nothing.
 */
import { InputError } from '../errors.js';
import { jsonErrorPosition, shortJsonMessage } from '../files.js';
import type { ReadOptions, ReadResult, Repair, Sentence, Span, TagScheme } from './types.js';
import { tokenize } from './words.js';

const WHITE = /\p{White_Space}/u;

type Json = Record<string, unknown>;

interface JsonLine {
  line: number;
  record: Json;
}

export function jsonLines(text: string, file: string): JsonLine[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: JsonLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new InputError(`bad JSON: ${shortJsonMessage(err)}`, file, i + 1, jsonErrorPosition(raw, err)?.column);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InputError(
        `expected a JSON object on each line, found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
        file,
        i + 1,
      );
    }
    out.push({ line: i + 1, record: value as Json });
  }
  return out;
}

export function readId(r: Json, file: string, line: number): string | undefined {
  const id = r['id'];
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string' || typeof id === 'number') return String(id);
  throw new InputError(`"id" must be a string or a number`, file, line);
}

export function readExtras(sentence: Sentence, r: Json, file: string, line: number): void {
  const docStart = r['docStart'];
  if (docStart === true) sentence.docStart = true;
  else if (docStart !== undefined && docStart !== false)
    throw new InputError(`"docStart" must be true or false`, file, line);
  const columns = r['columns'];
  if (columns === undefined) return;
  if (!Array.isArray(columns)) throw new InputError(`"columns" must be an array of string arrays`, file, line);
  const n = sentence.tokens.length;
  columns.forEach((col, c) => {
    if (!Array.isArray(col) || col.length !== n || !col.every((v) => typeof v === 'string' && v !== '')) {
      throw new InputError(`"columns"[${c}] must hold ${n} non-empty strings, one per token`, file, line);
    }
  });
  if (columns.length > 0) sentence.columns = columns as string[][];
}

export function readConfidence(e: Json, where: string, file: string, line: number): number | undefined {
  const c = e['confidence'];
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'number' || !(c >= 0 && c <= 1))
    throw new InputError(`${where}: "confidence" must be a number in [0, 1]`, file, line);
  return c;
}

/** Entities of a character-offset record, in any of the accepted shapes. */
function rawEntities(
  r: Json,
  file: string,
  line: number,
): Array<{ start: unknown; end: unknown; label: unknown; confidence?: number; where: string }> {
  let key = 'entities';
  let list = r['entities'];
  if (list === undefined && r['spans'] !== undefined) (key = 'spans'), (list = r['spans']);
  if (list === undefined && Array.isArray(r['label'])) (key = 'label'), (list = r['label']);
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new InputError(`"${key}" must be an array`, file, line);
  return list.map((e: unknown, k) => {
    const where = `${key}[${k}]`;
    if (Array.isArray(e)) {
      if (e.length < 3) throw new InputError(`${where}: expected [start, end, label]`, file, line);
      return { start: e[0], end: e[1], label: e[2], where };
    }
    if (e === null || typeof e !== 'object')
      throw new InputError(`${where}: expected an object with start, end and label`, file, line);
    const o = e as Json;
    const conf = readConfidence(o, where, file, line);
    const out: { start: unknown; end: unknown; label: unknown; confidence?: number; where: string } = {
      start: o['start'],
      end: o['end'],
      label: o['label'],
      where,
    };
    if (conf !== undefined) out.confidence = conf;
    return out;
  });
}

export function checkLabel(label: unknown, where: string, file: string, line: number): string {
  if (typeof label !== 'string' || label === '')
    throw new InputError(`${where}: "label" must be a non-empty string`, file, line);
  if (/\s/.test(label)) throw new InputError(`${where}: label "${label}" contains white space`, file, line);
  return label;
}

export function checkOffset(v: unknown, name: string, where: string, file: string, line: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new InputError(`${where}: "${name}" must be an integer, found ${JSON.stringify(v)}`, file, line);
  return v;
}

/**
 * Sorts spans, drops exact duplicates (a repair) and refuses overlaps: tags cannot hold nested or
 * overlapping entities.
 */
export function settleSpans(
  spans: Span[],
  file: string,
  line: number,
  strict: boolean | undefined,
  repairs: Repair[],
  describe: (s: Span) => string,
): Span[] {
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Span[] = [];
  for (const s of spans) {
    const prev = out[out.length - 1];
    if (prev && prev.start === s.start && prev.end === s.end && prev.label === s.label) {
      const message = `duplicate entity ${describe(s)}`;
      if (strict) throw new InputError(`${message} (refused in strict mode)`, file, line);
      repairs.push({ file, line, message: `${message} dropped` });
      continue;
    }
    if (prev && s.start < prev.end) {
      throw new InputError(
        `entities overlap: ${describe(prev)} and ${describe(s)} (tags cannot hold overlapping entities)`,
        file,
        line,
      );
    }
    out.push(s);
  }
  return out;
}

/** Aligns given token strings to the text, in order, skipping white space between them. */
function alignTokens(text: string, tokens: unknown[], file: string, line: number): Array<[number, number]> {
  const offsets: Array<[number, number]> = [];
  let pos = 0;
  tokens.forEach((tok, k) => {
    let t: string;
    if (typeof tok === 'string') t = tok;
    else if (tok !== null && typeof tok === 'object' && typeof (tok as Json)['text'] === 'string') {
      const o = tok as Json;
      t = o['text'] as string;
      if (typeof o['start'] === 'number' && typeof o['end'] === 'number') {
        const s = o['start'] as number;
        const e = o['end'] as number;
        if (text.slice(s, e) !== t) {
          throw new InputError(
            `tokens[${k}]: "${t}" is not the text at [${s}, ${e}) ("${text.slice(s, e)}")`,
            file,
            line,
          );
        }
        offsets.push([s, e]);
        pos = e;
        return;
      }
    } else throw new InputError(`tokens[${k}]: expected a string or {"text", "start", "end"}`, file, line);
    if (t === '') throw new InputError(`tokens[${k}]: empty token`, file, line);
    while (pos < text.length && WHITE.test(text[pos]!) && !text.startsWith(t, pos)) pos++;
    if (!text.startsWith(t, pos)) {
      throw new InputError(
        `tokens[${k}] "${t}" does not match the text at character ${pos} ("${text.slice(pos, pos + t.length + 5)}")`,
        file,
        line,
      );
    }
    offsets.push([pos, pos + t.length]);
    pos += t.length;
  });
  return offsets;
}

/** Parses character-offset JSONL. */
export function parseJsonl(text: string, file: string, opts: ReadOptions = {}): ReadResult {
  const repairs: Repair[] = [];
  const sentences: Sentence[] = [];
  for (const { line, record: r } of jsonLines(text, file)) {
    const t = r['text'];
    if (t === undefined) throw new InputError(`missing field "text"`, file, line);
    if (typeof t !== 'string') throw new InputError(`"text" must be a string`, file, line);
    const given = r['tokens'];
    if (given !== undefined && !Array.isArray(given)) throw new InputError(`"tokens" must be an array`, file, line);
    const offsets = given ? alignTokens(t, given, file, line) : tokenize(t);
    const entities = rawEntities(r, file, line);
    if (offsets.length === 0) {
      if (entities.length > 0) throw new InputError(`entities given but the text has no tokens`, file, line);
      if (opts.strict) throw new InputError(`the text has no tokens (refused in strict mode)`, file, line);
      repairs.push({ file, line, message: 'sentence without tokens skipped' });
      continue;
    }
    const startAt = new Map<number, number>();
    const endAt = new Map<number, number>();
    offsets.forEach(([s, e], k) => {
      startAt.set(s, k);
      endAt.set(e, k + 1);
    });
    const spans: Span[] = entities.map((e) => {
      const start = checkOffset(e.start, 'start', e.where, file, line);
      const end = checkOffset(e.end, 'end', e.where, file, line);
      const label = checkLabel(e.label, e.where, file, line);
      if (start < 0 || end > t.length || start >= end) {
        throw new InputError(
          `${e.where}: [${start}, ${end}) is not a non-empty range inside the text (length ${t.length})`,
          file,
          line,
        );
      }
      const ts = startAt.get(start);
      const te = endAt.get(end);
      if (ts === undefined || te === undefined || te <= ts) {
        const which = ts === undefined ? `start ${start}` : `end ${end}`;
        throw new InputError(
          `${e.where}: ${which} of "${t.slice(start, end)}" (${label}) is not on a token boundary; tokens there: ${nearTokens(t, offsets, ts === undefined ? start : end)}`,
          file,
          line,
        );
      }
      const span: Span = { start: ts, end: te, label, charStart: start, charEnd: end };
      if (e.confidence !== undefined) span.confidence = e.confidence;
      return span;
    });
    const id = readId(r, file, line);
    const sentence: Sentence = {
      id: id ?? `${file}:${line}`,
      tokens: offsets.map(([s, e]) => t.slice(s, e)),
      spans: settleSpans(
        spans,
        file,
        line,
        opts.strict,
        repairs,
        (s) => `[${s.charStart}, ${s.charEnd}) "${t.slice(s.charStart, s.charEnd)}" ${s.label}`,
      ),
      text: t,
      tokenOffsets: offsets,
      line,
    };
    readExtras(sentence, r, file, line);
    sentences.push(sentence);
  }
  return { corpus: { sentences, source: file }, format: 'jsonl', scheme: schemeOr(opts), repairs };
}

function schemeOr(opts: ReadOptions): TagScheme {
  return opts.scheme && opts.scheme !== 'auto' ? opts.scheme : 'iob2';
}

function nearTokens(text: string, offsets: Array<[number, number]>, at: number): string {
  const k = offsets.findIndex(([, e]) => e >= at);
  const from = Math.max(0, (k < 0 ? offsets.length : k) - 1);
  return offsets
    .slice(from, from + 3)
    .map(([s, e]) => `"${text.slice(s, e)}"@${s}`)
    .join(' ');
}
