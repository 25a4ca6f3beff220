/**
 * `nerd predict` over a corpus file in bounded memory: the file is read in chunks of whole sentences,
 * each chunk is parsed, predicted and written before the next is read, in order. The output is the same,
 * byte for byte, as reading the whole corpus, predicting it and writing it (test/student/predict-stream-*).
 *
 * Chunks are cut at sentence boundaries: after a blank line in CoNLL (never between a -DOCSTART- line and
 * the sentence it opens), after any line in JSONL. Each chunk goes through the corpus stage's own parser
 * and writer (`parseCorpus`, `formatCorpus`); line numbers, ids and messages are shifted back to the
 * file's lines. What depends on the whole file is settled first:
 *   - the format, from the first 64 KiB (as `detectFormat` reads the first record);
 *   - the input's tag scheme (how every chunk is read, and the default output scheme), by a first pass over
 *     the file's tags with the corpus stage's `detectScheme`, streamed too;
 *   - CoNLL's -DOCSTART- spelling, which the whole-file writer takes from the file's first one.
 */
import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  decodeUtf8,
  detectFormat,
  detectScheme,
  formatCorpus,
  parseCorpus,
  type Corpus,
  type CorpusFormat,
  type ReadResult,
  type Repair,
  type TagScheme,
} from '../corpus/index.js';
import { InputError } from '../errors.js';
import type { Predictor } from './predict.js';

export interface ChunkOptions {
  format?: CorpusFormat;
  /** sentences per chunk (about; a chunk always ends at a sentence boundary); default 1024 */
  sentences?: number;
  /** keep the tags as written (for scheme detection) */
  keepWrittenTags?: boolean;
  /** input tag scheme; default auto (per chunk) */
  scheme?: TagScheme | 'auto';
  /** bytes read per system call (tests use a small one to cut characters across reads); default 1 MiB */
  blockBytes?: number;
}

export interface Chunk {
  result: ReadResult;
  /** the chunk is the file's last */
  last: boolean;
}

const DOCSTART = '-DOCSTART-';

function isBlankLine(line: string): boolean {
  return /^[ \t\r]*$/.test(line);
}

function isDocStartLine(line: string): boolean {
  return (
    line.startsWith(DOCSTART) &&
    (line.length === DOCSTART.length || line[DOCSTART.length] === ' ' || line[DOCSTART.length] === '\t')
  );
}

/** Reads the corpus file's first bytes (for format detection) without reading the whole file. */
function head(file: string, bytes: number): string {
  const fd = openOrThrow(file);
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

function openOrThrow(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new InputError(`cannot read corpus: ${why}`, file);
  }
}

/** The format of a corpus file, detected as `readCorpus` does, from its start. */
export function detectFileFormat(file: string): CorpusFormat {
  return detectFormat(head(file, 64 * 1024), file);
}

/** Shifts a chunk's line numbers (and the ids made of them) to the file's lines. */
function shiftLines(result: ReadResult, file: string, offset: number): void {
  if (offset === 0) return;
  for (const s of result.corpus.sentences) {
    if (s.line === undefined) continue;
    if (s.id === `${file}:${s.line}`) s.id = `${file}:${s.line + offset}`;
    s.line += offset;
  }
  for (const r of result.repairs as Repair[]) r.line += offset;
}

/**
 * The corpus file's sentences in chunks (a synchronous generator: one chunk of text and its parse are held
 * at a time). Errors name the file's line, as `readCorpus`'s do.
 */
export function* readCorpusChunks(file: string, opts: ChunkOptions = {}): Generator<Chunk> {
  const format = opts.format ?? detectFileFormat(file);
  const per = opts.sentences ?? 1024;
  const fd = openOrThrow(file);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const buf = Buffer.alloc(opts.blockBytes ?? 1 << 20);
  let pending = ''; // decoded text not yet handed out as a chunk (starts at line `pendingLine`)
  let pendingLine = 1;
  let first = true;
  let eof = false;
  const parse = (text: string, firstLine: number): ReadResult => {
    let result: ReadResult;
    try {
      result = parseCorpus(text, file, { format, scheme: opts.scheme, keepWrittenTags: opts.keepWrittenTags });
    } catch (err) {
      if (err instanceof InputError && err.line !== undefined && err.file === file) {
        throw new InputError(err.message, file, err.line + firstLine - 1, err.column);
      }
      throw err;
    }
    shiftLines(result, file, firstLine - 1);
    return result;
  };
  let needMore = true; // read a block only when `pending` holds no whole chunk: it stays about one block
  try {
    for (;;) {
      if (needMore && !eof) {
        const n = readSync(fd, buf, 0, buf.length, null);
        const bytes = buf.subarray(0, n);
        if (first && n >= 2) decodeUtf8(bytes.subarray(0, 2), file); // a UTF-16 byte-order mark: one clear message
        first = false;
        eof = n === 0;
        try {
          pending += decoder.decode(bytes, { stream: !eof });
        } catch {
          // name the line of the first bad byte: this block's lines strictly, as decodeUtf8 reads a file
          let line = 1;
          try {
            decodeUtf8(bytes, file);
          } catch (err) {
            if (err instanceof InputError && err.line !== undefined) line = err.line;
          }
          throw new InputError(
            'the file is not UTF-8 (is it Latin-1 or Windows-1252? convert it with iconv)',
            file,
            pendingLine + countLines(pending) + line - 1,
          );
        }
      }
      // cut whole sentences off the front of `pending`
      let cut = -1;
      let lineNo = 0;
      let sentences = 0;
      let inSentence = false;
      let prevNonBlankIsDoc = false;
      for (let p = 0; p < pending.length; ) {
        const e = pending.indexOf('\n', p);
        if (e < 0) break; // an unfinished line waits for more text
        const line = pending.slice(p, e);
        lineNo++;
        p = e + 1;
        if (format === 'conll') {
          if (isBlankLine(line)) {
            if (inSentence) sentences++;
            inSentence = false;
            if (sentences >= per && !prevNonBlankIsDoc) {
              cut = p;
              break;
            }
          } else {
            prevNonBlankIsDoc = isDocStartLine(line);
            inSentence = !prevNonBlankIsDoc;
          }
        } else {
          sentences++;
          if (sentences >= per) {
            cut = p;
            break;
          }
        }
      }
      if (cut >= 0) {
        const text = pending.slice(0, cut);
        pending = pending.slice(cut);
        const firstLine = pendingLine;
        pendingLine += lineNo;
        needMore = false;
        yield { result: parse(text, firstLine), last: false };
        continue;
      }
      needMore = true;
      if (eof) {
        yield { result: parse(pending, pendingLine), last: true };
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The input's tag scheme over the whole file (as `readCorpus` detects it), in one streamed pass. */
export function detectFileScheme(file: string, format: CorpusFormat, sentences?: number): TagScheme {
  function* tags(): Generator<readonly string[]> {
    for (const { result } of readCorpusChunks(file, { format, sentences, keepWrittenTags: true })) {
      for (const s of result.corpus.sentences) if (s.writtenTags) yield s.writtenTags;
    }
  }
  return detectScheme(tags());
}

export interface PredictFileOptions {
  format?: CorpusFormat;
  /** output scheme; default the input's */
  scheme?: TagScheme;
  /** token JSONL output with "entities" */
  entities?: boolean;
  /** sentences per chunk (default 1024) */
  chunkSentences?: number;
  /** bytes per read (default 1 MiB; see ChunkOptions) */
  blockBytes?: number;
  /** called after each chunk with the sentences done so far */
  onProgress?: (done: number) => void;
  /** called once per repaired input problem count (first repair as an example) */
  onRepairs?: (count: number, first: Repair) => void;
  /**
   * a full garbage collection after each chunk (the CLI sets it). Each chunk's data outlives several
   * model calls, so V8 moves it to the old generation, where it waits for a major collection that V8 runs
   * late: RSS then grows with the corpus although live data does not (measured: 426 MB at 70k sentences
   * vs 262 MB at 2k without it, live heap flat at ~45 MB). One collection per chunk costs a few ms.
   */
  collectEachChunk?: boolean;
}

/** V8's full collection, reachable without starting node with --expose-gc */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export interface PredictFileResult {
  sentences: number;
  entities: number;
  format: CorpusFormat;
}

/**
 * Labels a corpus file with `predictor` and writes the labelled corpus to `out` (a file, written through a
 * temporary beside it and renamed at the end, or "-" for standard output), chunk by chunk; see the file
 * comment.
 */
export async function predictFile(
  predictor: Predictor,
  input: string,
  out: string,
  opts: PredictFileOptions = {},
): Promise<PredictFileResult> {
  const format = opts.format ?? detectFileFormat(input);
  // the input's scheme, as a whole-file read detects it: to read every chunk the same way, and the default
  // output scheme (character JSONL has no tags: iob2, as readCorpus says)
  const inputScheme = format === 'jsonl' ? 'iob2' : detectFileScheme(input, format, opts.chunkSentences);
  const scheme = opts.scheme ?? inputScheme;
  const toStdout = out === '-';
  const tmp = toStdout ? '' : path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = toStdout ? 1 : openSync(tmp, 'w');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      `cannot write: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      out,
    );
  }
  let sentences = 0;
  let entities = 0;
  let repairs = 0;
  let firstRepair: Repair | undefined;
  let docStartLine: string | undefined;
  let ok = false;
  const gc = opts.collectEachChunk ? fullGc() : undefined;
  try {
    for (const { result } of readCorpusChunks(input, {
      format,
      sentences: opts.chunkSentences,
      scheme: inputScheme,
      blockBytes: opts.blockBytes,
    })) {
      const corpus: Corpus = result.corpus;
      repairs += result.repairs.length;
      firstRepair ??= result.repairs[0];
      const sents = corpus.sentences;
      const preds = await predictor.predictSentences(sents.map((s) => s.tokens));
      sents.forEach((s, k) => {
        const off = s.tokenOffsets;
        s.spans = preds[k]!.spans.map((sp) =>
          off && off.length === s.tokens.length
            ? { ...sp, charStart: off[sp.start]![0], charEnd: off[sp.end - 1]![1] }
            : { ...sp },
        );
        entities += s.spans.length;
      });
      if (corpus.layout) {
        // the whole-file writer spells every -DOCSTART- as the file's first one
        docStartLine ??= corpus.layout.docStartLine;
        if (docStartLine !== undefined) corpus.layout = { ...corpus.layout, docStartLine };
      }
      const text = formatCorpus(corpus, { format, scheme, ...(opts.entities ? { entities: true } : {}) });
      writeAll(fd, text);
      sentences += sents.length;
      opts.onProgress?.(sentences);
      gc?.();
    }
    ok = true;
  } finally {
    if (!toStdout) {
      closeSync(fd);
      if (ok) renameSync(tmp, out);
      else rmSync(tmp, { force: true });
    }
  }
  if (repairs > 0 && firstRepair) opts.onRepairs?.(repairs, firstRepair);
  return { sentences, entities, format };
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking pipe on stdout: retry
      throw err;
    }
  }
}
