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
 * a trailing `-DOCSTART-` after the last sentence), so CoNLL → CoNLL is byte-for-byte identical for files
 * in the usual layout (all of ../shared/data but WNUT-17 train, whose separator lines hold a tab). What is
 * normalised: line ends become LF, a BOM is dropped, whitespace-only separator lines and runs of blank
 * lines become one empty line after each sentence, runs of spaces between fields and trailing white space
 * become one delimiter and nothing, and repaired tags are written repaired.
 *
 * Through JSONL (which has no file header) the layout is not carried: JSONL → CoNLL writes the delimiter
 * asked for (else a space), `-DOCSTART-` lines in the canonical form (`-DOCSTART-`, `-X-` for each extra
 * column, `O` for the tag) and no empty last document. Tokens, tags, extra columns and document boundaries
 * all survive.
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
  const tagColumn = opts.tagColumn ?? -1;
  if (!Number.isInteger(tagColumn) || tagColumn === 0) {
    throw new InputError(
      `the tag column must be a non-zero integer (1 is the first column, -1 the last), got ${tagColumn}`,
    );
  }
  // lines are scanned in place (no array of lines, no regex split): this is the hot loop of every read
  let lines: string[] | undefined; // built only when a message needs a line's text
  const lineText = (lineNo: number): string => {
    lines ??= text.split('\n');
    const l = lines[lineNo - 1] ?? '';
    return l.charCodeAt(l.length - 1) === 13 ? l.slice(0, -1) : l;
  };
  let tabs: boolean | undefined;
  let labelled: boolean | undefined; // decided by the first token line: one column = tokens only
  let firstTokenLine = 0;
  const raws: RawSentence[] = [];
  let cur: RawSentence | undefined;
  let pendingDoc = false;
  let docStartLine: string | undefined;
  let lastDocLine = -1;
  let lastDocHasNewline = false;
  const fields: string[] = [];
  const n = text.length;
  let lineNo = 0;
  for (let p = 0; p < n; ) {
    let e = text.indexOf('\n', p);
    const next = e < 0 ? n : e + 1;
    if (e < 0) e = n;
    if (e > p && text.charCodeAt(e - 1) === 13) e--;
    lineNo++;
    const start = p;
    p = next;
    if (isBlank(text, start, e)) {
      if (cur) raws.push(cur);
      cur = undefined;
      continue;
    }
    if (isDocStart(text, start, e)) {
      if (cur) raws.push(cur);
      cur = undefined;
      pendingDoc = true;
      docStartLine ??= text.slice(start, e);
      lastDocLine = lineNo;
      lastDocHasNewline = next > e;
      continue;
    }
    if (tabs === undefined) {
      // the first token line decides (a -DOCSTART- line may be spelled with spaces in a tab-separated file)
      const t = text.indexOf('\t', start);
      tabs = t >= 0 && t < e;
    }
    splitFields(text, start, e, tabs, fields);
    const width = fields.length;
    for (let c = 0; c < width; c++) {
      if (fields[c] === '') {
        throw new InputError(
          c === 0 ? 'empty token (the line starts with white space)' : `empty value in column ${c + 1}`,
          file,
          lineNo,
          columnOfField(lineText(lineNo), c, tabs),
        );
      }
    }
    if (labelled === undefined) {
      labelled = width >= 2;
      firstTokenLine = lineNo;
    } else if (labelled !== width >= 2) {
      throw new InputError(
        labelled
          ? `expected a token and a tag separated by ${tabs ? 'a tab' : 'spaces'}, found one column`
          : `this line has ${width} columns but the file has one column (tokens only) from line ${firstTokenLine}`,
        file,
        lineNo,
      );
    }
    if (!cur) {
      const tagIdx = labelled ? resolveTagColumn(tagColumn, width, file, lineNo) : -1;
      const extra = width - (labelled ? 2 : 1);
      cur = {
        line: lineNo,
        tokens: [],
        tags: [],
        columns: Array.from({ length: extra }, () => []),
        docStart: pendingDoc,
        width,
        tagIdx,
      };
      pendingDoc = false;
    } else if (width !== cur.width) {
      throw new InputError(
        `this line has ${width} columns but the sentence that starts on line ${cur.line} has ${cur.width}`,
        file,
        lineNo,
      );
    }
    const tagIdx = cur.tagIdx;
    cur.tokens.push(fields[0]!);
    cur.tags.push(tagIdx >= 0 ? fields[tagIdx]! : 'O');
    if (width > 2) {
      let k = 0;
      for (let c = 1; c < width; c++) if (c !== tagIdx) cur.columns[k++]!.push(fields[c]!);
    } else if (tagIdx < 0 && width === 2) cur.columns[0]!.push(fields[1]!);
  }
  if (cur) raws.push(cur);

  const tagColumnAt = (r: RawSentence, i: number): number | undefined =>
    r.tagIdx < 0 ? undefined : columnOfField(lineText(r.line + i), r.tagIdx, tabs);
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
    if (opts.keepWrittenTags && r.tagIdx >= 0) sentence.writtenTags = r.tags;
    sentences[s] = sentence;
  }
  const layout: ConllLayout = { delimiter: tabs ? '\t' : ' ', tagColumn: labelled === false ? 0 : tagColumn };
  if (docStartLine !== undefined) layout.docStartLine = docStartLine;
  if (pendingDoc && lastDocLine > 0) {
    // a -DOCSTART- with no sentence after it (the shared IOB1 files end so): an empty last document,
    // kept only so that CoNLL -> CoNLL writes it back
    layout.trailingDocStart = lineText(lastDocLine) + (lastDocHasNewline ? '\n' : '');
  }
  return { corpus: { sentences, source: file, layout }, format: 'conll', scheme, repairs };
}

/** `-DOCSTART-` as the line's first field */
function isDocStart(text: string, from: number, to: number): boolean {
  if (!text.startsWith(DOCSTART, from)) return false;
  const after = from + DOCSTART.length;
  if (after >= to) return true;
  const c = text.charCodeAt(after);
  return c === 32 || c === 9;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/**
 * Splits text[from, to) into `fields` (reused): on each tab in a tab-separated file (trailing empty or
 * blank fields dropped), else on runs of spaces and tabs (trailing white space ignored; leading white
 * space gives an empty first field, which the caller reports).
 */
function splitFields(text: string, from: number, to: number, tabs: boolean, fields: string[]): void {
  fields.length = 0;
  if (tabs) {
    let q = from;
    for (;;) {
      let t = text.indexOf('\t', q);
      if (t < 0 || t > to) t = to;
      fields.push(text.slice(q, t));
      if (t >= to) break;
      q = t + 1;
    }
    while (fields.length > 1 && isBlank(fields[fields.length - 1]!, 0, fields[fields.length - 1]!.length)) fields.pop();
    return;
  }
  let q = from;
  let c = text.charCodeAt(q);
  if (c === 32 || c === 9) fields.push('');
  while (q < to) {
    // skip separators
    while (q < to && ((c = text.charCodeAt(q)) === 32 || c === 9)) q++;
    if (q >= to) break;
    let r = q + 1;
    while (r < to && (c = text.charCodeAt(r)) !== 32 && c !== 9) r++;
    fields.push(text.slice(q, r));
    q = r;
  }
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
