/**
 * Reads what a reviewer reviews. The teacher's output JSONL (one sentence per line):
 *   {"id", "tokens": [...], "entities": [{"start","end","label","text","confidence"}], "rejected": [...], "teacher": {...}}
 * with TOKEN offsets. `spans` is accepted in place of `entities` and `type` in place of `label`, so a plain
 * token JSONL corpus can be reviewed too. Any other corpus the corpus readers take (CoNLL, character-offset
 * JSONL) is read through them, e.g. to check a human-labelled set. Every problem is an InputError naming
 * the file and line.
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { readCorpus } from '../../corpus/index.js';
import { InputError } from '../../errors.js';
import { readText } from '../../files.js';
import type { RejectedEntity, TeacherEntity } from './model.js';

export interface InputSentence {
  id: string;
  tokens: string[];
  teacher: TeacherEntity[];
  rejected: RejectedEntity[];
  /** 1-based line in the file */
  line: number;
}

export function readReviewData(file: string): InputSentence[] {
  const text = readText(file, 'review data');
  // any other corpus (CoNLL, character-offset JSONL, tagged token JSONL) goes through the corpus readers
  const first = /\S/.exec(text);
  const nl = first ? text.indexOf('\n', first.index) : -1;
  const firstLine = first ? text.slice(first.index, nl < 0 ? undefined : nl) : '';
  if (!firstLine.startsWith('{') || !/"tokens"\s*:/.test(firstLine)) return fromCorpus(file);
  const out: InputSentence[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const fail = (msg: string): never => {
      throw new InputError(msg, file, line);
    };
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      fail(`not valid JSON: ${(err as Error).message}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail('each line must be a JSON object');
    const o = obj as Record<string, unknown>;
    const tokens = o.tokens;
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string'))
      fail('"tokens" must be an array of strings');
    const toks = tokens as string[];
    const id = o.id === undefined ? `${basename(file)}:${line}` : String(o.id);
    const prev = seen.get(id);
    if (prev !== undefined) fail(`duplicate id ${JSON.stringify(id)} (first on line ${prev})`);
    seen.set(id, line);
    const ents = o.entities ?? o.spans ?? [];
    if (!Array.isArray(ents)) fail('"entities" must be an array');
    const teacher: TeacherEntity[] = (ents as unknown[]).map((e, k) => {
      const where = `entities[${k}]`;
      if (typeof e !== 'object' || e === null) fail(`${where} must be an object`);
      const r = e as Record<string, unknown>;
      const { start, end } = r;
      const label = r.label ?? r.type;
      if (!Number.isInteger(start) || !Number.isInteger(end))
        fail(`${where}: "start" and "end" must be integer TOKEN offsets`);
      const s = start as number;
      const en = end as number;
      if (s < 0 || en > toks.length || s >= en)
        fail(`${where}: span [${s}, ${en}) is outside the sentence's ${toks.length} tokens`);
      if (typeof label !== 'string' || label === '') fail(`${where}: "label" must be a non-empty string`);
      const ent: TeacherEntity = { start: s, end: en, label: label as string };
      if (r.confidence !== undefined) {
        if (typeof r.confidence !== 'number' || !(r.confidence >= 0 && r.confidence <= 1))
          fail(`${where}: "confidence" must be a number in [0, 1]`);
        ent.confidence = r.confidence as number;
      }
      return ent;
    });
    const sorted = [...teacher].sort((a, b) => a.start - b.start);
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k]!.start < sorted[k - 1]!.end)
        fail(`entities overlap at tokens ${sorted[k]!.start}..${sorted[k - 1]!.end - 1}`);
    }
    const rej = o.rejected ?? [];
    if (!Array.isArray(rej)) fail('"rejected" must be an array');
    const rejected = (rej as unknown[]).map((r) =>
      typeof r === 'object' && r !== null ? (r as RejectedEntity) : { text: String(r) },
    );
    out.push({ id, tokens: toks, teacher, rejected, line });
  });
  if (out.length === 0) throw new InputError('no sentences in review data', file);
  return out;
}

/**
 * Sentences of any corpus file. Their ids are the corpus reader's (a JSONL "id", or `FILE:LINE`), with
 * FILE as the file's real path, so one file named two ways (`data/x.conll`, `./data//x.conll`, a symlink)
 * gives the same ids and is one set of sentences in a store. A repeated id gets `#2`, `#3`, ... (the
 * next free suffix per id, so 10,000 repeats cost 10,000 steps).
 */
function fromCorpus(file: string): InputSentence[] {
  const { corpus } = readCorpus(file);
  if (corpus.sentences.length === 0) throw new InputError('no sentences in review data', file);
  const real = realpathSync(file);
  const idOf = (s: (typeof corpus.sentences)[number], i: number): string => {
    const line = s.line ?? i + 1;
    return s.id === undefined || s.id === `${file}:${line}` ? `${real}:${line}` : s.id;
  };
  // every id the file gives is reserved, so a made-up `#k` never takes a later sentence's own id
  const taken = new Set(corpus.sentences.map(idOf));
  const seen = new Set<string>();
  const nextSuffix = new Map<string, number>();
  return corpus.sentences.map((s, i) => {
    const base = idOf(s, i);
    let id = base;
    if (seen.has(id)) {
      let k = nextSuffix.get(base) ?? 2;
      while (taken.has(`${base}#${k}`)) k++;
      id = `${base}#${k}`;
      nextSuffix.set(base, k + 1);
      taken.add(id);
    }
    seen.add(id);
    return {
      id,
      tokens: s.tokens,
      teacher: s.spans.map((sp) => ({
        start: sp.start,
        end: sp.end,
        label: sp.label,
        ...(sp.confidence !== undefined ? { confidence: sp.confidence } : {}),
      })),
      rejected: [],
      line: s.line ?? i + 1,
    };
  });
}
