/**
 * Reading the sentences to annotate as a stream, so that `nerd annotate` holds only the sentences in
 * flight, whatever the size of the input.
 *
 * The file is read in chunks of bytes, decoded as strict UTF-8 (a byte that is not UTF-8 is an error naming
 * the line), and cut into pieces of about CHUNK_LINES lines at sentence boundaries — a blank line for
 * CoNLL, any line end for JSONL. Each piece is parsed by the corpus readers (corpus/index.ts: the same
 * formats, checks and messages as `readCorpus`), and line numbers — in messages and in the default
 * sentence ids `file:line` — are shifted to the piece's place in the file, so ids equal readCorpus's.
 * The format is detected once, from the first piece.
 */
import { createReadStream } from 'node:fs';
import { InputError } from '../errors.js';
import { detectFormat, parseCorpus } from '../corpus/index.js';
import type { CorpusFormat, ReadOptions, Sentence } from '../corpus/types.js';

const CHUNK_LINES = 4000;

function shift(s: Sentence, file: string, offset: number): Sentence {
  if (offset === 0 || s.line === undefined) return s;
  const line = s.line + offset;
  const id = s.id === `${file}:${s.line}` ? `${file}:${line}` : s.id;
  return { ...s, line, ...(id !== undefined ? { id } : {}) };
}

function parsePiece(text: string, file: string, firstLine: number, opts: ReadOptions): Sentence[] {
  const offset = firstLine - 1;
  try {
    return parseCorpus(text, file, opts).corpus.sentences.map((s) => shift(s, file, offset));
  } catch (err) {
    if (err instanceof InputError && err.line !== undefined)
      throw new InputError(err.message, err.file, err.line + offset, err.column);
    throw err;
  }
}

/** the sentences of a corpus file (CoNLL, JSONL, token JSONL), read piece by piece */
export async function* readSentences(file: string, opts: ReadOptions = {}): AsyncGenerator<Sentence> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let format: CorpusFormat | undefined = opts.format;
  let pending = ''; // text after the last line end
  let lines: string[] = [];
  let firstLine = 1; // file line of lines[0]
  let lineNo = 0;
  const piece = function* (): Generator<Sentence> {
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    format ??= detectFormat(text, file);
    yield* parsePiece(text, file, firstLine, { ...opts, format });
    firstLine += lines.length;
    lines = [];
  };
  const take = function* (text: string, final: boolean): Generator<Sentence> {
    const all = pending + text;
    const parts = all.split('\n');
    pending = final ? '' : parts.pop()!;
    for (const raw of parts) {
      if (final && raw === '' && raw === parts[parts.length - 1]) break;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      lineNo++;
      lines.push(line);
      if (format === undefined && line.trim() !== '') format = detectFormat(`${line}\n`, file);
      const boundary = format === 'conll' ? line.trim() === '' : true;
      if (lines.length >= CHUNK_LINES && boundary) yield* piece();
    }
  };
  let stream: AsyncIterable<Buffer>;
  try {
    stream = createReadStream(file) as AsyncIterable<Buffer>;
    for await (const bytes of stream) {
      let text: string;
      try {
        text = decoder.decode(bytes, { stream: true });
      } catch {
        throw new InputError('the file is not UTF-8 text', file, lineNo + 1);
      }
      yield* take(text, false);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new InputError(`cannot read corpus: ${why}`, file);
  }
  try {
    yield* take(decoder.decode(), true);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('the file is not UTF-8 text (it ends inside a character)', file, lineNo + 1);
  }
  yield* piece();
}

/** how many sentences `file` holds (one streaming pass; for the progress bar) */
export async function countSentences(file: string, opts: ReadOptions = {}): Promise<number> {
  let n = 0;
  for await (const _ of readSentences(file, opts)) n++;
  return n;
}
