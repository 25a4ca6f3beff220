/**
 * The simulator's gold corpus: sentences with their true entities, indexed by normalised text so that a
 * sentence can be found in a prompt however it was written there (tokens joined by spaces, detokenised
 * text, different whitespace or quotes).
 *
 * Reads CoNLL-style files (one token per line, tag in the last column, IOB1 or IOB2, `-DOCSTART-` skipped,
 * blank line between sentences) and JSONL (`{"tokens": [...], "spans"|"entities": [{start, end, label}]}`,
 * token offsets, end exclusive). This is a deliberately small reader of its own: the simulator must keep
 * working as a test fixture whatever the corpus stage's reader does; bad input still gets an InputError.
 */
import { InputError } from '../../errors.js';
import { spansFromTags } from '../../corpus/tags.js';
import { readText } from '../../files.js';

export interface GoldEntity {
  /** token offsets, end exclusive */
  start: number;
  end: number;
  type: string;
}

export interface GoldSentence {
  /** position in the gold file (0-based) */
  index: number;
  /** the id given by a JSONL file, if any */
  id?: string;
  tokens: string[];
  entities: GoldEntity[];
}

export interface GoldCorpus {
  sentences: GoldSentence[];
  /** entity types seen in the corpus, sorted */
  types: string[];
  /** normalised text (case kept) → every sentence with that text, in corpus order */
  byKey: Map<string, GoldSentence[]>;
  /** the same, case-folded: the fallback when the case-kept key finds nothing */
  byFoldedKey: Map<string, GoldSentence[]>;
  source: string;
}

/**
 * The key under which a sentence is found: NFKC, quotes and dashes unified, all whitespace removed (so
 * "U.S. 's" and "U.S.'s" and tokens joined by spaces all meet); `fold` also lower-cases.
 */
export function normaliseKey(text: string, fold = false): string {
  const key = text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201a\u201b`´]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f«»]|''|``/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, '');
  return fold ? key.toLowerCase() : key;
}

export function loadGold(file: string): GoldCorpus {
  const text = readText(file, 'the gold corpus');
  const firstLine =
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  const sentences = firstLine.startsWith('{') ? parseJsonl(text, file) : parseConll(text, file);
  return indexGold(sentences, file);
}

export function indexGold(sentences: GoldSentence[], source = '(memory)'): GoldCorpus {
  const byKey = new Map<string, GoldSentence[]>();
  const byFoldedKey = new Map<string, GoldSentence[]>();
  const types = new Set<string>();
  const add = (map: Map<string, GoldSentence[]>, key: string, s: GoldSentence) => {
    if (key === '') return;
    const list = map.get(key);
    if (list) list.push(s);
    else map.set(key, [s]);
  };
  for (const s of sentences) {
    const text = s.tokens.join(' ');
    add(byKey, normaliseKey(text), s);
    add(byFoldedKey, normaliseKey(text, true), s);
    for (const e of s.entities) types.add(e.type);
  }
  return { sentences, types: [...types].sort(), byKey, byFoldedKey, source };
}

function parseConll(text: string, file: string): GoldSentence[] {
  const sentences: GoldSentence[] = [];
  let tokens: string[] = [];
  let tags: string[] = [];
  let startLine = 0;
  const flush = () => {
    if (tokens.length > 0) {
      sentences.push({ index: sentences.length, tokens, entities: tagsToEntities(tags, file, startLine) });
    }
    tokens = [];
    tags = [];
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return flush();
    const cols = line.split(/\s+/);
    if (cols[0] === '-DOCSTART-') return flush();
    if (cols.length < 2) {
      throw new InputError(`expected "token ... tag" (at least two columns), got "${line}"`, file, i + 1);
    }
    const tag = cols[cols.length - 1]!;
    if (!/^(O|[BIES]-.+)$/.test(tag))
      throw new InputError(`"${tag}" is not an IOB tag`, file, i + 1, raw.lastIndexOf(tag) + 1);
    if (tokens.length === 0) startLine = i + 1;
    tokens.push(cols[0]!);
    tags.push(tag);
  });
  flush();
  return sentences;
}

/**
 * IOB1 / IOB2 / BIOES tags to spans by the corpus stage's rules (corpus/tags.ts): IOB as conlleval chunks it,
 * BIOES as BIOES means it.
 */
function tagsToEntities(tags: string[], _file: string, _line: number): GoldEntity[] {
  return spansFromTags(tags, 'bioes').map((s) => ({ start: s.start, end: s.end, type: s.label }));
}

function parseJsonl(text: string, file: string): GoldSentence[] {
  const sentences: GoldSentence[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { id?: unknown; tokens?: unknown; spans?: unknown; entities?: unknown };
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new InputError(`not JSON: ${(err as Error).message}`, file, i + 1);
    }
    if (!Array.isArray(row.tokens) || !row.tokens.every((t) => typeof t === 'string')) {
      throw new InputError('expected "tokens": an array of strings', file, i + 1);
    }
    const tokens = row.tokens as string[];
    const rawSpans = (row.spans ?? row.entities ?? []) as Array<Record<string, unknown>>;
    if (!Array.isArray(rawSpans)) throw new InputError('"spans" must be an array', file, i + 1);
    const entities = rawSpans.map((s, j) => {
      const start = s.start,
        end = s.end,
        type = s.label ?? s.type;
      if (
        typeof start !== 'number' ||
        typeof end !== 'number' ||
        typeof type !== 'string' ||
        start < 0 ||
        end > tokens.length ||
        start >= end
      ) {
        throw new InputError(
          `span ${j} needs token offsets 0 <= start < end <= ${tokens.length} and a label`,
          file,
          i + 1,
        );
      }
      return { start, end, type };
    });
    sentences.push({
      index: sentences.length,
      id: row.id === undefined ? undefined : String(row.id),
      tokens,
      entities,
    });
  });
  return sentences;
}
