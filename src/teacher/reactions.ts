/**
 * How the annotation job (annotate.ts) reacts to one answer of a task: ask again, split, fail a sample, or
 * hand the grounded results to the assembler.
 *
 * The job's reactions to an answer (deterministic, so a rerun replays them from the cache for free):
 *   1. `finish_reason: length` is a failure, never an answer: ask again with twice the max-tokens (up to
 *      `maxTokensCap`), then at the cap as a re-ask with feedback (up to `maxRetries`), then give up. A content-filter refusal is an unusable answer. Any other
 *      finish reason — `stop`, missing, null or unknown — is an answer when its JSON is complete.
 *   2. An unusable answer (no readable JSON, cut off, ...) is asked again as attempt n+1 (new seed) with
 *      feedback (requests.ts: what was wrong), up to `maxRetries` times.
 *   3. Ids in a batched answer are checked: sentences whose id is missing or given twice are asked again
 *      alone; an id that was not asked (e.g. 0-based ids) makes the whole answer's crediting untrustworthy,
 *      and every sentence of the batch is asked again alone. Never is a sentence written empty for it.
 *   4. An answer whose entities name types that do not exist is asked again once, with feedback naming
 *      them (and any text not in the sentence), at the first attempt only.
 *   5. A batch that cannot be answered is split into single-sentence tasks; a single sentence that cannot
 *      be answered is counted as failed for that sample.
 */
import type { ChatResponse } from './providers/types.js';
import { AnswerParseError, parseAnswer, type ParsedAnswer } from './parse.js';
import { groundEntities, type GroundResult } from './ground.js';
import { RequestBuilder, type Task } from './requests.js';
import type { Assembler } from './assembly.js';
import type { AnnotateStats } from './job-types.js';
import type { SpanConventions } from './spans.js';

/** problems listed in one feedback note at most */
const MAX_FEEDBACK_ITEMS = 10;

/** What a reaction needs from the running job. */
export interface ReactionContext {
  stats: AnnotateStats;
  maxRetries: number;
  maxTokensCap: (n: number) => number;
  /** the entity type names */
  types: string[];
  conventions: SpanConventions | undefined;
  assembler: Assembler;
  /** a task that cannot be answered: split a batch, or fail the single sentence's sample */
  giveUp: (task: Task, reason: string) => void;
  /** asks each of `members` again alone for `sample` */
  retryAlone: (members: number[], sample: number) => void;
}

/**
 * Reacts to `response`, the answer to `task`: returns the task to ask next (a re-ask), or undefined when
 * the task is done (its results handed on, or its sentences re-queued or failed).
 */
export function reactTo(task: Task, response: ChatResponse, ctx: ReactionContext): Task | undefined {
  const { stats, maxRetries, maxTokensCap, types, conventions, assembler, giveUp, retryAlone } = ctx;

  if (response.finishReason === 'length') {
    stats.truncated++;
    if (task.maxTokens * 2 <= maxTokensCap(task.members.length)) {
      return { ...task, maxTokens: task.maxTokens * 2 };
    }
    if (task.attempt < maxRetries) {
      // at the cap: ask again (new seed) saying so, rather than drop a sentence for one long answer
      stats.feedbackReasks++;
      const problem = `it was cut off at the limit of ${task.maxTokens} tokens: keep the reasoning short and end with the complete JSON answer`;
      return { ...task, attempt: task.attempt + 1, feedback: { answer: response.text, problem } };
    }
    giveUp(task, `answer cut off by the token limit even at max-tokens ${task.maxTokens}`);
    return undefined;
  }
  const ids = RequestBuilder.ids(task);
  let parsed: ParsedAnswer;
  try {
    if (response.finishReason === 'content_filter')
      throw new AnswerParseError('the answer was refused (content filter)', 'the answer was empty (refused)');
    parsed = parseAnswer(response.text, ids);
  } catch (err) {
    if (!(err instanceof AnswerParseError)) throw err;
    stats.parseFailures++;
    if (task.attempt < maxRetries) {
      stats.feedbackReasks++;
      return { ...task, attempt: task.attempt + 1, feedback: { answer: response.text, problem: err.feedback } };
    }
    giveUp(task, `no usable answer after ${task.attempt + 1} asks (${err.message})`);
    return undefined;
  }
  // ids: an id that was not asked makes every credit in this answer doubtful
  if (parsed.unknownIds.length > 0 || parsed.duplicateIds.length > 0) stats.idMismatches++;
  if (parsed.unknownIds.length > 0 && task.members.length > 1) {
    stats.missingFromBatch += task.members.length;
    retryAlone(task.members, task.sample);
    return undefined;
  }
  const doubtful = (j: number) =>
    !parsed.results.has(ids[j]!) || parsed.duplicateIds.includes(ids[j]!) || parsed.unknownIds.length > 0;
  if (task.members.length === 1 && doubtful(0)) {
    stats.parseFailures++;
    if (task.attempt < maxRetries) {
      stats.feedbackReasks++;
      const problem =
        parsed.unknownIds.length > 0
          ? `the answer used id ${parsed.unknownIds[0]}, but the sentence's id is 1`
          : 'the answer did not list the sentence (id 1) exactly once';
      return { ...task, attempt: task.attempt + 1, feedback: { answer: response.text, problem } };
    }
    assembler.failSample(task.members[0]!, task.sample, 'the answer never listed this sentence');
    return undefined;
  }
  const grounded: Array<[number, GroundResult]> = [];
  const redo: number[] = [];
  task.members.forEach((i, j) => {
    if (doubtful(j)) redo.push(i);
    else
      grounded.push([
        i,
        groundEntities(assembler.sentence(i).tokens, parsed.results.get(ids[j]!)!, types, conventions),
      ]);
  });
  const problems = task.attempt === 0 ? typeProblems(grounded, task, types) : undefined;
  if (problems) {
    stats.feedbackReasks++;
    return { ...task, attempt: task.attempt + 1, feedback: { answer: response.text, problem: problems } };
  }
  for (const [i, g] of grounded) assembler.result(i, task.sample, g);
  if (redo.length > 0) {
    stats.missingFromBatch += redo.length;
    retryAlone(redo, task.sample);
  }
  return undefined;
}

/**
 * Feedback for an answer whose entities name types that do not exist (with any text not in its sentence),
 * or undefined when it has no such problem.
 */
function typeProblems(grounded: Array<[number, GroundResult]>, task: Task, types: string[]): string | undefined {
  const unknown = new Set<string>();
  const notFound: string[] = [];
  for (const [i, g] of grounded) {
    const id = task.members.length > 1 ? `sentence ${task.members.indexOf(i) + 1}: ` : '';
    for (const r of g.rejected) {
      if (r.reason === 'unknown-type') unknown.add(String(r.type));
      else if (r.reason === 'not-found' && notFound.length < MAX_FEEDBACK_ITEMS)
        notFound.push(`${id}"${String(r.text).slice(0, 80)}" is not in the sentence`);
    }
  }
  if (unknown.size === 0) return undefined;
  const list = [...unknown].slice(0, MAX_FEEDBACK_ITEMS).map((t) => `"${t.slice(0, 40)}"`);
  return [`unknown type ${list.join(', ')} (use only ${types.join(', ')})`, ...notFound].join('; ');
}
