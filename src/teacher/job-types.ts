/**
 * The annotation job's options, statistics and results (the job itself: annotate.ts).
 */
import type { Sentence } from '../corpus/types.js';
import type { ChatProvider } from './providers/types.js';
import type { TypeDefinition } from './definitions.js';
import type { Demo } from './prompt.js';
import type { SpanConventions } from './spans.js';
import type { ResponseCache } from './cache.js';
import type { Price } from './pricing.js';
import type { AnnotatedSentence, FailedSentence } from './assembly.js';

export interface AnnotateCommonOptions {
  /** entity type definitions, in the order to present them (definitions.ts: resolveDefinitions) */
  definitions: TypeDefinition[];
  provider: ChatProvider;
  /** human-labelled pool for few-shot demonstrations (default: none, zero-shot) */
  demos?: Demo[];
  /** demonstrations per request (default 4) */
  shots?: number;
  /** sentences per request (default 1) */
  batch?: number;
  /** self-consistency samples per sentence (default 1) */
  samples?: number;
  /** sampling temperature (default 0 with one sample, 0.7 with several) */
  temperature?: number;
  /** keep spans with at least this share of votes (default: strict majority) */
  minConfidence?: number;
  /** span conventions for grounding (spans.ts; default DEFAULT_CONVENTIONS, or conventionsFromLabelled(demos)) */
  conventions?: SpanConventions;
  /** requests in flight at once (default 4) */
  concurrency?: number;
  /** the most sentences read and not yet handed on (default and minimum: max(64, 4 × concurrency × batch)) */
  window?: number;
  /** retries of a failed call, and re-asks of an unusable answer (default 6) */
  maxRetries?: number;
  /** per-request timeout (default 120 000 ms) */
  timeoutMs?: number;
  /** completion-token limit of a first ask (default 400 + 300 per sentence in the batch) */
  maxTokens?: number;
  /** the largest limit a `length` answer may be retried with (default 4 × maxTokens) */
  maxTokensCap?: number;
  /** stop asking when this many USD would be spent in this run; needs a known price (else refused) */
  maxCost?: number;
  /** USD per 1M tokens; default from `prices`, then pricing.ts's table (a local GGUF model costs 0) */
  price?: Price;
  prices?: Record<string, Price>;
  /** send the answer's JSON schema for structured output (default true) */
  structured?: boolean;
  /** an open cache, or a file path for one (default: no cache — every call is paid) */
  cache?: ResponseCache | string;
  /** plan only: count requests and estimate tokens and cost, call nothing */
  dryRun?: boolean;
  /** draw a progress bar on stderr (default false for the library) */
  progress?: boolean;
  /** one-line notices (the simulator notice, adaptations, warnings); default: stderr */
  log?: (line: string) => void;
  /** base of the exponential back-off (default 500 ms) and its ceiling (default 30 s) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** stops the job cleanly (what is done is returned) */
  signal?: AbortSignal;
}

export interface AnnotateOptions extends AnnotateCommonOptions {
  /** the sentences to annotate (their spans, if any, are ignored) */
  sentences: Sentence[];
}

export interface AnnotateStreamOptions extends AnnotateCommonOptions {
  /** the sentences to annotate, read as the work needs them */
  input: Iterable<Sentence> | AsyncIterable<Sentence>;
  /** how many there are, if known (progress bar) */
  total?: number;
  /** each annotated sentence, in input order */
  onSentence: (a: AnnotatedSentence) => void;
  /** each failed sentence, in input order */
  onFailed?: (f: FailedSentence) => void;
}

export interface AnnotateStats {
  sentences: number;
  annotated: number;
  failed: number;
  /** left unasked by a stop (budget, cancel, fatal error) */
  pending: number;
  /** planned requests (batches × samples) */
  plannedRequests: number;
  /** calls that reached the provider (retries included; refusals the provider adapted to are not calls) */
  requests: number;
  /** answers taken from the cache */
  cacheHits: number;
  /** identical requests served by one in flight */
  sharedInFlight: number;
  retries: number;
  rateLimited: number;
  timeouts: number;
  serverErrors: number;
  /** answers cut off by the token limit (finish_reason length) */
  truncated: number;
  /** answers with no readable JSON answer */
  parseFailures: number;
  /** re-asks that told the model what was wrong */
  feedbackReasks: number;
  /** answers with an id that was not asked or an id given twice */
  idMismatches: number;
  /** sentences of a batched answer asked again alone (missing, duplicate or unknown ids) */
  missingFromBatch: number;
  /** batches split into single sentences after repeated failures */
  splitBatches: number;
  /** changes to the request the endpoint asked for (providers/adapt.ts) */
  adaptations: number;
  /** tokens of calls made in this run (paid); completion tokens include reasoning tokens */
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** tokens of answers taken from the cache (paid in an earlier run) */
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
  /** USD spent in this run */
  costUsd: number;
  /** whether the model's price was known (else cost is 0) */
  priceKnown: boolean;
  /** entities whose text is not in the sentence */
  hallucinations: number;
  /** all rejections by reason */
  rejectedByReason: Record<string, number>;
  /** the teacher is `nerd teacher-sim` */
  simulated: boolean;
  elapsedMs: number;
}

export function newStats(simulated: boolean, priceKnown: boolean): AnnotateStats {
  return {
    sentences: 0,
    annotated: 0,
    failed: 0,
    pending: 0,
    plannedRequests: 0,
    requests: 0,
    cacheHits: 0,
    sharedInFlight: 0,
    retries: 0,
    rateLimited: 0,
    timeouts: 0,
    serverErrors: 0,
    truncated: 0,
    parseFailures: 0,
    feedbackReasks: 0,
    idMismatches: 0,
    missingFromBatch: 0,
    splitBatches: 0,
    adaptations: 0,
    promptTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    cachedPromptTokens: 0,
    cachedCompletionTokens: 0,
    costUsd: 0,
    priceKnown,
    hallucinations: 0,
    rejectedByReason: {},
    simulated,
    elapsedMs: 0,
  };
}

export interface DryRunEstimate {
  requests: number;
  cachedRequests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  priceKnown: boolean;
  price: Price;
}

export interface AnnotateStreamResult {
  stats: AnnotateStats;
  /** why the run stopped early, if it did */
  stoppedBy?: 'budget' | 'cancelled' | 'fatal';
  /** the error that stopped it (`fatal`), already free of keys */
  fatalError?: string;
  /** present with `dryRun` */
  estimate?: DryRunEstimate;
}

export interface AnnotateResult extends AnnotateStreamResult {
  /** annotated sentences, in input order */
  sentences: AnnotatedSentence[];
  /** failed sentences, in input order */
  failed: FailedSentence[];
}
