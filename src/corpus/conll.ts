/**
 * CoNLL column files: one token per line, the token in the first column, the entity tag in the tag column
 * (the last by default), any other columns (POS, chunk, ...) kept as they are; sentences separated by
 * blank (or whitespace-only) lines; `-DOCSTART-` lines mark document boundaries.
 *
 * Reading: a UTF-8 BOM at the start and CR before LF are dropped. The delimiter is decided by the first
 * token line: a tab there makes the file tab-separated (fields split on each tab, so tokens may contain
 * spaces); otherwise fields are split on runs of spaces or tabs. Only ASCII space and tab separate fields,
 * so tokens may end in U+FEFF, U+00A0 and the like (WNUT-17 has one).
 *
 * Writing reproduces the layout read (delimiter, tag column, the `-DOCSTART-` line as the file wrote it,
 * a trailing `-DOCSTART-` after the last sentence), so CoNLL → CoNLL is byte-for-byte identical except
 * that line ends become LF, the BOM is dropped, whitespace-only separator lines become empty lines and
 * repaired tags are written in their repaired form. Sentences end with one empty line each.
 */
import { InputError } from '../errors.js';
import type { ConllLayout, Corpus, ReadOptions, ReadResult, Sentence, TagScheme } from './types.js';
import { tagsFromSpans } from './tags.js';
import { decodeTagged } from './validate.js';


export const DOCSTART = '-DOCSTART-';

interface RawSentence {
  line: number;
  tokens: string[];
  tags: string[];
  columns: string[][];
  docStart: boolean;
  width: number;
  tagIdx: number;
}

/** Parses CoNLL text. `file` is used in messages and sentence ids only. */
export function parseConll(text: string, file: string, opts: ReadOptions = {}): ReadResult {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const tagColumn = opts.tagColumn ?? -1;
  if (!Number.isInteger(tagColumn) || tagColumn === 0) {
    throw new InputError(`the tag column must be a non-zero integer (1 is the first column, -1 the last), got ${tagColumn}`);
  }
  let tabs: boolean | undefined;
  let labelled: boolean | undefined; // decided by the first token line: one column = tokens only
  let firstTokenLine = 0;
  const raws: RawSentence[] = [];
  let cur: RawSentence | undefined;
  let pendingDoc = false;
  let docStartLine: string | undefined;
  let lastDocLine = -1;
  const n = lines.length;
  const end = lines[n - 1] === '' ? n - 1 : n; // a final newline does not open another line

  for (let li = 0; li < end; li++) {
    let line = lines[li]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const lineNo = li + 1;
    if (isBlank(line)) {
      if (cur) raws.push(cur);
      cur = undefined;
      continue;
    }
    tabs ??= line.includes('\t');
    const fields = tabs ? line.split('\t') : line.split(/[ \t]+/);
    if (tabs) trimTrailingEmpty(fields);
    if (fields[0] === DOCSTART) {
      if (cur) raws.push(cur);
      cur = undefined;
      pendingDoc = true;
      docStartLine ??= line;
      lastDocLine = li;
      continue;
    }
    for (let c = 0; c < fields.length; c++) {
      if (fields[c] === '') {
        throw new InputError(
          c === 0 ? 'empty token (the line starts with whitespace)' : `empty value in column ${c + 1}`,
          file,
          lineNo,
          columnOfField(line, c, tabs),
        );
      }
    }
    if (labelled === undefined) {
      labelled = fields.length >= 2;
      firstTokenLine = lineNo;
    } else if (labelled !== fields.length >= 2) {
      throw new InputError(
        labelled
          ? `expected a token and a tag separated by ${tabs ? 'a tab' : 'spaces'}, found one column`
          : `this line has ${fields.length} columns but the file has one column (tokens only) from line ${firstTokenLine}`,
        file,
        lineNo,
      );
    }
    if (!cur) {
      const tagIdx = labelled ? resolveTagColumn(tagColumn, fields.length, file, lineNo) : -1;
      const extra = fields.length - (labelled ? 2 : 1);
      cur = {
        line: lineNo,
        tokens: [],
        tags: [],
        columns: Array.from({ length: extra }, () => []),
        docStart: pendingDoc,
        width: fields.length,
        tagIdx,
      };
      pendingDoc = false;
    } else if (fields.length !== cur.width) {
      throw new InputError(
        `this line has ${fields.length} columns but the sentence that starts on line ${cur.line} has ${cur.width}`,
        file,
        lineNo,
      );
    }
    const tagIdx = cur.tagIdx;
    cur.tokens.push(fields[0]!);
    cur.tags.push(tagIdx >= 0 ? fields[tagIdx]! : 'O');
    let k = 0;
    for (let c = 1; c < fields.length; c++) if (c !== tagIdx) cur.columns[k++]!.push(fields[c]!);
  }
  if (cur) raws.push(cur);

  const tagColumnAt = (r: RawSentence, i: number): number | undefined => {
    let l = lines[r.line - 1 + i];
    if (l === undefined || r.tagIdx < 0) return undefined;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    return columnOfField(l, r.tagIdx, tabs);
  };
  const { scheme, spans, repairs } = decodeTagged(
    raws.map((r) => ({ tags: r.tags, line: (i: number) => r.line + i, column: (i: number) => tagColumnAt(r, i) })),
    file,
    opts,
  );
  const sentences: Sentence[] = new Array(raws.length);
  for (let s = 0; s < raws.length; s++) {
    const r = raws[s]!;
    const sentence: Sentence = { id: `${file}:${r.line}`, tokens: r.tokens, spans: spans[s]!, line: r.line };
    if (r.columns.length > 0) sentence.columns = r.columns;
    if (r.docStart) sentence.docStart = true;
    sentences[s] = sentence;
  }
  const layout: ConllLayout = { delimiter: tabs ? '\t' : ' ', tagColumn: labelled === false ? 0 : tagColumn };
  if (docStartLine !== undefined) layout.docStartLine = docStartLine;
  if (pendingDoc && lastDocLine >= 0) {
    // a -DOCSTART- with no sentence after it (the shared IOB1 files end so): an empty last document,
    // kept only so that CoNLL -> CoNLL writes it back
    let l = lines[lastDocLine]!;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    layout.trailingDocStart = l + (lastDocLine < n - 1 ? '\n' : '');
  }
  return { corpus: { sentences, source: file, layout }, format: 'conll', scheme, repairs };
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function trimTrailingEmpty(fields: string[]): void {
  while (fields.length > 1 && fields[fields.length - 1]!.trim() === '') fields.pop();
}

function resolveTagColumn(opt: number, width: number, file: string, line: number): number {
  const idx = opt > 0 ? opt - 1 : width + opt;
  if (idx < 1 || idx >= width) {
    throw new InputError(
      `tag column ${opt} does not exist here (the line has ${width} columns; column 1 is the token)`,
      file,
      line,
    );
  }
  return idx;
}

/** 1-based character column where field `c` starts in `line`. */
export function columnOfField(line: string, c: number, tabs: boolean | undefined): number {
  let pos = 0;
  if (!tabs) {
    const re = /[ \t]+/g;
    for (let k = 0; k < c; k++) {
      re.lastIndex = pos;
      const m = re.exec(line);
      if (!m) return line.length + 1;
      pos = m.index + m[0].length;
    }
    return pos + 1;
  }
  for (let k = 0; k < c; k++) {
    const t = line.indexOf('\t', pos);
    if (t < 0) return line.length + 1;
    pos = t + 1;
  }
  return pos + 1;
}

export interface ConllWriteOptions {
  scheme: TagScheme;
  /** field delimiter; default: the layout read, else a space */
  delimiter?: ' ' | '\t';
}

/** Formats a corpus as CoNLL text (see the file comment for the layout). */
export function formatConll(corpus: Corpus, opts: ConllWriteOptions): string {
  const layout = corpus.layout;
  const delim = opts.delimiter ?? layout?.delimiter ?? ' ';
  const tagColumn = layout?.tagColumn ?? -1;
  const out: string[] = [];
  for (const s of corpus.sentences) {
    const width = 1 + (s.columns?.length ?? 0) + (tagColumn === 0 ? 0 : 1);
    if (s.docStart) {
      out.push(layout?.docStartLine ?? defaultDocStart(width, tagColumn, delim), '');
    }
    const tags = tagColumn === 0 ? undefined : tagsFromSpans(s.tokens.length, s.spans, opts.scheme);
    const tagIdx = tagColumn === 0 ? -1 : tagColumn > 0 ? tagColumn - 1 : width + tagColumn;
    const cols = s.columns ?? [];
    for (let i = 0; i < s.tokens.length; i++) {
      if (cols.length === 0 && tags) {
        out.push(s.tokens[i]! + delim + tags[i]!);
        continue;
      }
      const fields: string[] = [s.tokens[i]!];
      let k = 0;
      for (let c = 1; c < width; c++) fields.push(c === tagIdx ? tags![i]! : cols[k++]![i]!);
      out.push(fields.join(delim));
    }
    out.push('');
  }
  let text = out.length > 0 ? out.join('\n') + '\n' : '';
  if (layout?.trailingDocStart !== undefined) text += layout.trailingDocStart;
  return text;
}

function defaultDocStart(width: number, tagColumn: number, delim: string): string {
  const fields = [DOCSTART];
  const tagIdx = tagColumn === 0 ? -1 : tagColumn > 0 ? tagColumn - 1 : width + tagColumn;
  for (let c = 1; c < width; c++) fields.push(c === tagIdx ? 'O' : '-X-');
  return fields.join(delim);
}
