/**
 * Building the annotation job's requests: one task (a batch of sentences × one sample, at some attempt)
 * becomes chat messages, sampling parameters and a cache key.
 *
 * A request is (messages, temperature, maxTokens, seed, schema); its cache key adds provider kind, model,
 * sample index and attempt number (cache.ts). Sample s at attempt a has seed s + 1000·a.
 *
 * Re-asks with feedback: a task that is asked again because its answer was unusable carries what was wrong
 * (cut off, invalid JSON at line:col, an id that was not asked, an unknown type, text not in the sentence).
 * The re-ask sends the original messages with a note appended to the last user message: what was wrong,
 * and the start of the unusable answer (FEEDBACK_ANSWER_CHARS) — so a model at temperature 0 is not asked
 * the identical question again. (A note in the same message, not a new turn: the sentences to annotate
 * stay in the last user message, where servers and the simulator look for them.) The feedback is part of the messages, hence of the cache key: a rerun
 * rebuilds the same re-ask from the cached bad answer and finds its answer in the cache too.
 */
import type { Sentence } from '../corpus/types.js';
import type { ChatProvider, ChatRequest } from './providers/types.js';
import type { TypeDefinition } from './definitions.js';
import { answerSchema, buildMessages, type Demo, type PromptSentence } from './prompt.js';
import { requestKey } from './cache.js';
import type { DemoSelector } from './demos.js';

export interface Feedback {
  /** the unusable answer */
  answer: string;
  /** what was wrong with it, in words for the model */
  problem: string;
}

export interface Task {
  /** input indexes */
  members: number[];
  sample: number;
  attempt: number;
  maxTokens: number;
  /** why the previous ask of this task was unusable (re-asks only) */
  feedback?: Feedback;
  /** demonstrations chosen for this task's sentences (memoised: the choice is deterministic) */
  demos?: Demo[];
}

/** how much of an unusable answer is shown back to the model in a re-ask */
export const FEEDBACK_ANSWER_CHARS = 600;

/** characters / 4: the usual rough rule for English and GPT-style tokenizers */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** prompt tokens of `messages`: characters / 4 plus 4 per message for the roles */
export function estimatePromptTokens(messages: ChatRequest['messages']): number {
  return messages.reduce((n, m) => n + 4 + estimateTokens(m.content), 0);
}

export interface RequestBuilderOptions {
  provider: ChatProvider;
  definitions: TypeDefinition[];
  structured: boolean;
  temperature: number;
  timeoutMs: number;
  shots: number;
  selector?: DemoSelector;
}

export class RequestBuilder {
  private readonly types: string[];

  constructor(
    private readonly o: RequestBuilderOptions,
    /** the sentence at an input index (only sentences in flight are asked for) */
    private readonly sentenceAt: (index: number) => Sentence,
  ) {
    this.types = o.definitions.map((d) => d.name);
  }

  /** the request-local ids of a task's sentences, in member order ("1", "2", ...) */
  static ids(task: Task): string[] {
    return task.members.map((_, j) => String(j + 1));
  }

  build(task: Task): { request: ChatRequest; key: string } {
    const o = this.o;
    const ps: PromptSentence[] = task.members.map((i, j) => ({ id: String(j + 1), tokens: this.sentenceAt(i).tokens }));
    if (o.selector && o.shots > 0)
      task.demos ??= o.selector.select(
        task.members.map((i) => this.sentenceAt(i).tokens),
        o.shots,
      );
    const messages = buildMessages(ps, task.demos ?? [], { definitions: o.definitions, structured: o.structured });
    if (task.feedback) withFeedback(messages, task.feedback, ps.length);
    const seed = task.sample + 1000 * task.attempt;
    const jsonSchema = o.structured ? answerSchema(this.types, ps.length > 1) : undefined;
    const request: ChatRequest = {
      messages,
      temperature: o.temperature,
      maxTokens: task.maxTokens,
      seed,
      timeoutMs: o.timeoutMs,
      ...(jsonSchema ? { jsonSchema } : {}),
    };
    const key = requestKey({
      provider: o.provider.kind,
      model: o.provider.model,
      messages,
      temperature: o.temperature,
      maxTokens: task.maxTokens,
      seed,
      jsonSchema,
      sample: task.sample,
      attempt: task.attempt,
    });
    return { request, key };
  }
}

/** appends the note on an unusable answer to the last user message of `messages` (in place) */
export function withFeedback(messages: ChatRequest['messages'], f: Feedback, sentences: number): void {
  const last = messages.map((m) => m.role).lastIndexOf('user');
  if (last < 0) return;
  const shown = f.answer.length > FEEDBACK_ANSWER_CHARS ? `${f.answer.slice(0, FEEDBACK_ANSWER_CHARS)}…` : f.answer;
  const note =
    `\n\nNote: a previous answer to this request could not be used: ${f.problem}. ` +
    `It began:\n"""\n${shown.trim() || '(empty answer)'}\n"""\n` +
    `Answer again for the same ${sentences > 1 ? `${sentences} sentences (ids 1 to ${sentences})` : 'sentence'}, ending with the complete JSON answer in the format asked for.`;
  messages[last] = { ...messages[last]!, content: messages[last]!.content + note };
}
