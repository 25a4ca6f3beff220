/** Shared fixtures for the teacher pipeline's tests: real corpora, a recording wrapper, F1 against gold. */
import { scoreTeacher } from '../../src/teacher/quality.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCorpus } from '../../src/corpus/index.js';
import type { Sentence } from '../../src/corpus/types.js';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/teacher/providers/types.js';
import type { AnnotatedSentence } from '../../src/teacher/annotate.js';

import { DATA } from '../helpers/data.js';

export { DATA };
export const DEV = join(DATA, 'conll2003/dev.txt');
export const TRAIN = join(DATA, 'conll2003/train.txt');

let devCache: Sentence[] | undefined;
export function devSentences(): Sentence[] {
  devCache ??= readCorpus(DEV).corpus.sentences;
  return devCache;
}

/** sentences as teacher-sim's gold (index, tokens, entities) */
export function simGold(sentences: Sentence[]): Array<{
  index: number;
  tokens: string[];
  entities: Array<{ start: number; end: number; type: string }>;
}> {
  return sentences.map((s, index) => ({
    index,
    tokens: s.tokens,
    entities: s.spans.map((x) => ({ start: x.start, end: x.end, type: x.label })),
  }));
}

let trainCache: Sentence[] | undefined;
export function trainDemos(n = 3000): Array<{ tokens: string[]; spans: Sentence['spans'] }> {
  trainCache ??= readCorpus(TRAIN).corpus.sentences;
  return trainCache.slice(0, n).map((s) => ({ tokens: s.tokens, spans: s.spans }));
}

export function tempDir(prefix = 'nerd-teacher-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** the first `n` sentences of CoNLL-2003 dev, as a CoNLL file of their own in `dir` (named `name`) */
export function devSlice(n: number, dir: string, name = `dev-${n}.txt`): string {
  const blocks = readFileSync(DEV, 'utf8')
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '')
    .slice(0, n);
  const file = join(dir, name);
  writeFileSync(file, `${blocks.join('\n\n')}\n\n`);
  return file;
}

/** entity-level P/R/F1 of the teacher against gold, with the conlleval-exact scorer */
export function scoreAgainstGold(
  gold: Sentence[],
  annotated: AnnotatedSentence[],
): { p: number; r: number; f1: number; tp: number; pred: number; gold: number } {
  const r = scoreTeacher(gold, annotated);
  return { p: r.precision, r: r.recall, f1: r.f1, tp: r.correct, pred: r.found, gold: r.gold };
}

export interface RecordedCall {
  /** messages + sampling parameters: equal for a request and its retries */
  key: string;
  start: number;
  end: number;
  status?: number;
  retryAfterMs?: number;
  finishReason?: string;
}

/**
 * Passes every call through to a real provider and records when it started and ended and how it failed.
 * (Instrumentation of the network boundary, not a mock: the real client talks to the real server.)
 */
export class RecordingProvider implements ChatProvider {
  readonly calls: RecordedCall[] = [];
  constructor(private readonly inner: ChatProvider) {}
  get kind(): string {
    return this.inner.kind;
  }
  get model(): string {
    return this.inner.model;
  }
  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const call: RecordedCall = {
      key: JSON.stringify([request.messages, request.temperature, request.seed, request.maxTokens]),
      start: performance.now(),
      end: 0,
    };
    this.calls.push(call);
    try {
      const r = await this.inner.complete(request, signal);
      call.finishReason = r.finishReason;
      return r;
    } catch (err) {
      const e = err as { status?: number; retryAfterMs?: number };
      if (e.status !== undefined) call.status = e.status;
      if (e.retryAfterMs !== undefined) call.retryAfterMs = e.retryAfterMs;
      throw err;
    } finally {
      call.end = performance.now();
    }
  }
}
