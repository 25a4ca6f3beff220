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
}

export interface Corpus {
  sentences: Sentence[];
  /** the file it came from, for messages */
  source?: string;
}

export type TagScheme = 'iob1' | 'iob2' | 'bioes';
