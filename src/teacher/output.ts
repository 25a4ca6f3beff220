/**
 * Writing annotations as JSONL, one sentence per line in input order, atomically and streaming: lines go to
 * a temporary file beside the output as they are handed on (in chunks), which is flushed to disk and
 * renamed over the output at the end. A kill at any moment leaves either the previous complete file or the
 * new complete one — never a partial or duplicated line. (The cache is the job's journal: rerunning
 * rebuilds the whole file from it for free, so the output needs no append-and-dedupe logic of its own.)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { AnnotatedSentence } from './assembly.js';

/** The JSONL line of one annotated sentence (see the output format in commands.ts). */
export function annotationLine(a: AnnotatedSentence): string {
  return JSON.stringify({
    id: a.id,
    tokens: a.tokens,
    entities: a.entities,
    rejected: a.rejected,
    ...(a.rejectedOmitted ? { rejectedOmitted: a.rejectedOmitted } : {}),
    teacher: a.teacher,
  });
}

/** lines buffered before a write */
const CHUNK_LINES = 500;

export class AnnotationWriter {
  private readonly tmp: string;
  private fd: number | undefined;
  private chunk: string[] = [];
  written = 0;

  constructor(readonly file: string) {
    const dir = dirname(resolve(file));
    mkdirSync(dir, { recursive: true });
    // one name per output (not per process): a run killed with -9 leaves it, and the next run replaces it
    this.tmp = join(dir, `.${basename(file)}.tmp`);
    this.fd = openSync(this.tmp, 'w');
  }

  write(a: AnnotatedSentence): void {
    this.chunk.push(annotationLine(a));
    this.written++;
    if (this.chunk.length >= CHUNK_LINES) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.fd === undefined || this.chunk.length === 0) return;
    writeSync(this.fd, `${this.chunk.join('\n')}\n`);
    this.chunk = [];
  }

  /** flushes to disk and renames the temporary file over the output */
  commit(): void {
    if (this.fd === undefined) return;
    this.flushChunk();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmp, this.file);
  }

  /** drops the temporary file, leaving the output as it was */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}

/** Writes `sentences` to `file` atomically (see the top of this file). */
export function writeAnnotations(file: string, sentences: Iterable<AnnotatedSentence>): void {
  const w = new AnnotationWriter(file);
  try {
    for (const a of sentences) w.write(a);
    w.commit();
  } catch (err) {
    w.abort();
    throw err;
  }
}
