/**
 * The corpus model every stage shares.
 *
 * Offsets: `start`/`end` on a Span are TOKEN offsets (end exclusive). Where the sentence's text is known,
 * `charStart`/`charEnd` give CHARACTER offsets into `Sentence.text` (end exclusive, UTF-16 code units as JS
 * strings index them). Both units are kept where both are known, and named so they cannot be confused.
 */

export interface Span {
  /** first token of the entity (0-based) */
  start: number;
  /** one past the last token of the entity */
  end: number;
  /** entity type, e.g. PER, ORG, LOC, MISC */
  label: string;
  /** character offsets into Sentence.text, when the text is known */
  charStart?: number;
  charEnd?: number;
  /** share of teacher samples that voted for this span, in [0, 1] (teacher output only) */
  confidence?: number;
}

export interface Sentence {
  /** stable id: given by the input (JSONL "id") or `${file}:${line}` of its first token */
  id?: string;
  tokens: string[];
  spans: Span[];
  /** original text, when known (character-offset JSONL); tokens then carry character offsets too */
  text?: string;
  /** character offsets of each token in `text`, when known */
  tokenOffsets?: Array<[number, number]>;
  /** any extra CoNLL columns (e.g. POS, chunk), one array per column, kept for lossless round trips */
  columns?: string[][];
  /** true when this sentence begins a new document (a -DOCSTART- line preceded it) */
  docStart?: boolean;
  /** 1-based line in its source file where the sentence starts, for error messages */
  line?: number;
  /**
   * the tags exactly as the file wrote them (CoNLL, token JSONL with tags), only when read with
   * `keepWrittenTags` (e.g. for seqeval's strict mode, which must see an `I-X` after `O` as written)
   */
  writtenTags?: string[];
}

export interface Corpus {
  sentences: Sentence[];
  /** the file it came from, for messages */
  source?: string;
  /** how the CoNLL file it came from was laid out, so that writing it back reproduces the file */
  layout?: ConllLayout;
}

export type TagScheme = 'iob1' | 'iob2' | 'bioes';

/** The three corpus file formats: CoNLL columns, character-offset JSONL, token JSONL. */
export type CorpusFormat = 'conll' | 'jsonl' | 'tokens-jsonl';

/** Layout details of a CoNLL file that carry no annotation but let CoNLL → CoNLL be byte-identical. */
export interface ConllLayout {
  /** field delimiter */
  delimiter: ' ' | '\t';
  /** 1-based tag column, negative from the end (-1 = last); 0 = the file has no tag column (tokens only) */
  tagColumn: number;
  /** the first `-DOCSTART-` line as written (e.g. `-DOCSTART- -X- O O`) */
  docStartLine?: string;
  /** text of a `-DOCSTART-` line after the last sentence (an empty last document), with its newline if any */
  trailingDocStart?: string;
}

/**
 * A repairable problem a lenient reader fixed (a strict reader refuses it instead): e.g. an `I-PER` after
 * `O` in IOB2, read as `B-PER` (the spans are what conlleval reads either way).
 */
export interface Repair {
  file: string;
  /** 1-based line */
  line: number;
  /** 1-based character column, where known */
  column?: number;
  message: string;
  /** the tag as written and as read, for tag repairs */
  from?: string;
  to?: string;
}

export interface ReadOptions {
  /** file format; detected from the content (and extension) when not given */
  format?: CorpusFormat;
  /** CoNLL: 1-based tag column, negative counts from the end; default -1 (the last column) */
  tagColumn?: number;
  /** tag scheme of the input; default 'auto' (detected, see detectScheme) */
  scheme?: TagScheme | 'auto';
  /** refuse repairable problems instead of repairing and counting them */
  strict?: boolean;
  /** keep each sentence's tags as written in `Sentence.writtenTags` (tag-based formats only) */
  keepWrittenTags?: boolean;
  /**
   * token JSONL: names of integer class ids in "tags"/"ner_tags" (index = id), as Hugging Face datasets
   * write them, e.g. ['O', 'B-PER', 'I-PER', ...]
   */
  tagNames?: string[];
}

export interface ReadResult {
  corpus: Corpus;
  /** the format read (as given or detected) */
  format: CorpusFormat;
  /** the input's tag scheme (as given or detected; 'iob2' for formats without tags) */
  scheme: TagScheme;
  /** what a lenient read repaired (empty when strict) */
  repairs: Repair[];
}
