/**
 * The corpus stage's public API: read, validate, convert and write corpora in CoNLL, character-offset
 * JSONL and token JSONL, in the IOB1, IOB2 and BIOES tag schemes. See conll.ts, jsonl.ts and tags.ts for
 * each format's exact rules.
 */
import { extname } from 'node:path';
import { InputError } from '../errors.js';
import { readText, writeFileAtomic } from '../files.js';
import { DOCSTART, formatConll, parseConll } from './conll.js';
import { parseJsonl } from './jsonl.js';
import { parseTokensJsonl } from './jsonl-tokens.js';
import { formatJsonl, formatTokensJsonl } from './jsonl-write.js';
import type { Corpus, CorpusFormat, ReadOptions, ReadResult, TagScheme } from './types.js';

export type {
  Corpus,
  CorpusFormat,
  ConllLayout,
  ReadOptions,
  ReadResult,
  Repair,
  Sentence,
  Span,
  TagScheme,
} from './types.js';
export {
  TAG_SCHEMES,
  conllevalEndOfChunk,
  conllevalStartOfChunk,
  convertTags,
  decodeTags,
  detectScheme,
  parseScheme,
  spansFromTags,
  splitTag,
  tagsFromSpans,
} from './tags.js';
export { splitWords, tokenize } from './words.js';
export { loadTagNames, tagNamesFromText } from './tag-names.js';
export { DOCSTART } from './conll.js';
/** strict UTF-8 decoding, the policy of every reader (files.ts) */
export { decodeUtf8 } from '../files.js';
export { corpusStats, formatStats, type CorpusStats, type LengthBin } from './stats.js';

export const CORPUS_FORMATS: readonly CorpusFormat[] = ['conll', 'jsonl', 'tokens-jsonl'];

export function parseFormat(name: string): CorpusFormat | undefined {
  const key = name.trim().toLowerCase();
  const aliases: Record<string, CorpusFormat> = {
    conll: 'conll',
    jsonl: 'jsonl',
    'char-jsonl': 'jsonl',
    spacy: 'jsonl',
    prodigy: 'jsonl',
    doccano: 'jsonl',
    'tokens-jsonl': 'tokens-jsonl',
    'token-jsonl': 'tokens-jsonl',
    hf: 'tokens-jsonl',
  };
  return aliases[key];
}

const JSON_EXTENSIONS = new Set(['.jsonl', '.json', '.ndjson']);

/**
 * Tells the format of a corpus from its content: a first non-blank line that is a JSON object is JSONL
 * (`jsonl` when it has "text", `tokens-jsonl` when it has "tokens"); a first line that starts with `{` but
 * is not JSON is JSONL only in a .jsonl/.json/.ndjson file (whose reader then reports the bad line), else
 * CoNLL (a token may be `{`); anything else is CoNLL. An empty file is judged by its extension.
 */
export function detectFormat(text: string, file: string): CorpusFormat {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const m = /\S/.exec(start ? text.slice(1) : text);
  const jsonExt = JSON_EXTENSIONS.has(extname(file).toLowerCase());
  if (!m) return jsonExt ? 'tokens-jsonl' : 'conll';
  if (m[0] !== '{') return 'conll';
  const from = m.index + start;
  const nl = text.indexOf('\n', from);
  const first = text.slice(from, nl < 0 ? undefined : nl);
  let record: unknown;
  try {
    record = JSON.parse(first);
  } catch {
    if (!jsonExt) return 'conll';
    return /"text"\s*:/.test(first) ? 'jsonl' : 'tokens-jsonl';
  }
  if (record && typeof record === 'object' && !Array.isArray(record)) {
    if ('text' in record) return 'jsonl';
    if ('tokens' in record) return 'tokens-jsonl';
  }
  const line = text.slice(0, from).split('\n').length;
  throw new InputError('a JSONL corpus line needs "text" (character offsets) or "tokens" (token JSONL)', file, line);
}

/** Parses a corpus from a string. `file` names it in messages and sentence ids. */
export function parseCorpus(text: string, file: string, opts: ReadOptions = {}): ReadResult {
  const format = opts.format ?? detectFormat(text, file);
  switch (format) {
    case 'conll':
      return parseConll(text, file, opts);
    case 'jsonl':
      return parseJsonl(text, file, opts);
    case 'tokens-jsonl':
      return parseTokensJsonl(text, file, opts);
    default:
      throw new InputError(`unknown corpus format "${String(format)}" (use conll, jsonl or tokens-jsonl)`, file);
  }
}

/**
 * Reads a corpus file, which must be UTF-8 (a BOM is allowed). Missing or unreadable files, and bytes that
 * are not UTF-8, are InputErrors naming the file (and the line of the first bad byte): see files.ts.
 */
export function readCorpus(file: string, opts: ReadOptions = {}): ReadResult {
  return parseCorpus(readText(file, 'corpus'), file, opts);
}

export interface WriteOptions {
  format: CorpusFormat;
  /** tag scheme for CoNLL and token JSONL tags; default iob2 */
  scheme?: TagScheme;
  /** CoNLL field delimiter; default the delimiter the corpus was read with, else a space */
  delimiter?: ' ' | '\t';
  /** token JSONL: write token-offset "entities" (keeping confidence) instead of "tags" */
  entities?: boolean;
}

/** Formats a corpus in a format. */
export function formatCorpus(corpus: Corpus, opts: WriteOptions): string {
  const scheme = opts.scheme ?? 'iob2';
  switch (opts.format) {
    case 'conll': {
      checkConllTokens(corpus, opts.delimiter ?? corpus.layout?.delimiter ?? ' ');
      const o: { scheme: TagScheme; delimiter?: ' ' | '\t' } = { scheme };
      if (opts.delimiter) o.delimiter = opts.delimiter;
      return formatConll(corpus, o);
    }
    case 'jsonl':
      return formatJsonl(corpus);
    case 'tokens-jsonl':
      return formatTokensJsonl(corpus, opts.entities ? { scheme, entities: true } : { scheme });
    default:
      throw new InputError(`unknown corpus format "${String(opts.format)}" (use conll, jsonl or tokens-jsonl)`);
  }
}

/** Writes a corpus file (UTF-8, LF line ends), atomically: a failed write leaves any old file as it was. */
export function writeCorpus(file: string, corpus: Corpus, opts: WriteOptions): void {
  writeFileAtomic(file, formatCorpus(corpus, opts));
}

/** CoNLL cannot hold tokens (or column values) containing its delimiter or a line break. */
function checkConllTokens(corpus: Corpus, delimiter: string): void {
  const bad = delimiter === '\t' ? /[\t\n\r]/ : /[ \t\n\r]/;
  for (const s of corpus.sentences) {
    const check = (v: string, what: string, i: number) => {
      if (v === '' || bad.test(v) || (what === 'token' && v === DOCSTART)) {
        throw new InputError(
          `${what} ${i + 1} ${JSON.stringify(v)} cannot be written to CoNLL (${v === '' ? 'it is empty' : v === DOCSTART ? 'it would read as a document boundary' : 'it contains white space; try a tab delimiter'})`,
          corpus.source,
          s.line,
        );
      }
    };
    s.tokens.forEach((t, i) => check(t, 'token', i));
    s.columns?.forEach((col) => col.forEach((v, i) => check(v, 'column value of token', i)));
  }
}

/** The format a file name suggests, if any. */
export function formatFromExtension(file: string): CorpusFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (JSON_EXTENSIONS.has(ext)) return undefined; // jsonl or tokens-jsonl: the caller decides
  if (['.conll', '.txt', '.tsv', '.iob', '.iob1', '.iob2', '.bio', '.bioes', '.iobes', '.tags'].includes(ext))
    return 'conll';
  return undefined;
}

export function isJsonExtension(file: string): boolean {
  return JSON_EXTENSIONS.has(extname(file).toLowerCase());
}
