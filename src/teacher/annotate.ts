/**
 * The annotation job: sentences in, grounded and voted entity spans out, surviving real LLMs and networks.
 *
 * Plan. Sentences are cut into batches of `batch` consecutive sentences; each batch is asked `samples`
 * times (sample s: temperature > 0, seed s). A request is (messages, temperature, maxTokens, seed, schema);
 * its cache key adds provider kind, model, sample index and attempt number (cache.ts).
 *
 * One task = one batch × one sample. Running it:
 *   1. Cache hit → use it (free). Otherwise, if a `maxCost` budget would be passed by this request's
 *      estimated cost (on top of what is spent and what is in flight), the task is left for a later run.
 *      Otherwise call the provider, retrying retryable failures (429, 5xx, timeouts, resets) with
 *      exponential back-off and full jitter, never sooner than the server's Retry-After; a 429 also holds
 *      back every other request until its Retry-After has passed. A request identical to one in flight
 *      waits for that one instead of paying again (e.g. the same headline twice in a corpus).
 *   2. `finish_reason: length` is a failure, never an answer: ask again with twice the max-tokens (up to
 *      `maxTokensCap`), then give up on the task. Any other non-`stop` finish, or a reply with no readable
 *      answer (parse.ts), is asked again as attempt n+1 (new seed, new cache key) up to `maxRetries` times.
 *   3. Sentences missing from a batched answer are asked again alone. A batch that cannot be answered is
 *      split into single-sentence tasks; a single sentence that cannot be answered is counted as failed for
 *      that sample.
 *   4. Each answer is grounded (ground.ts); when all samples of a sentence are in, they vote (vote.ts).
 * Everything a rerun needs is in the cache, and the job's reactions are deterministic, so rerunning after a
 * crash, a kill -9 or a budget stop replays the cached answers for free and asks only what is missing.
 *
 * Failed sentences (every sample failed) and sentences left by a budget stop are not in `sentences`: an
 * annotation with no entities would teach the student that nothing there is a name. They are listed in
 * `failed` / counted in `pending`.
 */
import { setMaxListeners } from 'node:events';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Progress } from '../progress.js';
import type { Sentence } from '../corpus/types.js';
import type { ChatProvider, ChatRequest, ChatResponse } from './providers/types.js';
import { ProviderError, SIM_MODEL_PREFIX } from './providers/types.js';
import type { TypeDefinition } from './definitions.js';
import { answerSchema, buildMessages, type Demo, type PromptSentence } from './prompt.js';
import { AnswerParseError, parseAnswer } from './parse.js';
import { groundEntities, type GroundResult, type RejectedEntity } from './ground.js';
import { vote } from './vote.js';
import { requestKey, ResponseCache } from './cache.js';
import { costOf, priceFor, type Price } from './pricing.js';
import { DemoSelector } from './demos.js';

export { SIM_MODEL_PREFIX };

export interface AnnotateOptions {
  /** the sentences to annotate (their spans, if any, are ignored) */
  sentences: Sentence[];
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
  /** requests in flight at once (default 4) */
  concurrency?: number;
  /** retries of a failed call, and re-asks of an unusable answer (default 6) */
  maxRetries?: number;
  /** per-request timeout (default 120 000 ms) */
  timeoutMs?: number;
  /** completion-token limit of a first ask (default 400 + 300 per sentence in the batch) */
  maxTokens?: number;
  /** the largest limit a `length` answer may be retried with (default 4 × maxTokens) */
  maxTokensCap?: number;
  /** stop asking when this many USD would be spent in this run */
  maxCost?: number;
  /** USD per 1M tokens; default from `prices`, then pricing.ts's table, else 0 */
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
  /** one-line notices (the simulator notice, warnings); default: stderr */
  log?: (line: string) => void;
  /** base of the exponential back-off (default 500 ms) and its ceiling (default 30 s) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** stops the job cleanly (what is done is returned) */
  signal?: AbortSignal;
}

export interface AnnotatedEntity {
  /** TOKEN offsets, end exclusive */
  start: number;
  end: number;
  label: string;
  text: string;
  /** share of samples that gave this span */
  confidence: number;
  /** CHARACTER offsets into the sentence's text, when the input had text */
  charStart?: number;
  charEnd?: number;
}

export interface AnnotatedSentence {
  id: string;
  /** position in the input (0-based) */
  index: number;
  tokens: string[];
  entities: AnnotatedEntity[];
  rejected: RejectedEntity[];
  teacher: { model: string; samples: number };
}

export interface AnnotateStats {
  sentences: number;
  annotated: number;
  failed: number;
  /** left unasked by a budget stop or a cancel */
  pending: number;
  /** planned requests (batches × samples) */
  plannedRequests: number;
  /** calls that reached the provider (retries included) */
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
  /** sentences missing from a batched answer, asked again alone */
  missingFromBatch: number;
  /** batches split into single sentences after repeated failures */
  splitBatches: number;
  /** tokens of calls made in this run (paid) */
  promptTokens: number;
  completionTokens: number;
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

export interface DryRunEstimate {
  requests: number;
  cachedRequests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  priceKnown: boolean;
  price: Price;
}

export interface AnnotateResult {
  /** annotated sentences, in input order */
  sentences: AnnotatedSentence[];
  failed: Array<{ id: string; index: number; reason: string }>;
  stats: AnnotateStats;
  /** why the run stopped early, if it did */
  stoppedBy?: 'budget' | 'cancelled' | 'fatal';
  /** the error that stopped it (`fatal`), already free of keys */
  fatalError?: string;
  /** present with `dryRun` */
  estimate?: DryRunEstimate;
}

interface Task {
  /** input indexes */
  members: number[];
  sample: number;
  attempt: number;
  maxTokens: number;
}

interface SentenceState {
  results: Map<number, GroundResult>;
  failedSamples: Map<number, string>;
  done: boolean;
}

/** characters / 4, plus 4 per message: the usual rough rule for English and GPT-style tokenizers */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function estimatePromptTokens(messages: ChatRequest['messages']): number {
  return messages.reduce((n, m) => n + 4 + estimateTokens(m.content), 0);
}

/** completion tokens expected for `n` sentences before any answer is seen: reasoning + JSON */
const PRIOR_COMPLETION_PER_SENTENCE = 90;

/** waits `ms`, or less if `signal` fires; leaves no listener behind */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

class FatalError extends Error {}

export async function annotate(options: AnnotateOptions): Promise<AnnotateResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const provider = options.provider;
  const sentences = options.sentences;
  const batchSize = Math.max(1, Math.floor(options.batch ?? 1));
  const samples = Math.max(1, Math.floor(options.samples ?? 1));
  const temperature = options.temperature ?? (samples > 1 ? 0.7 : 0);
  if (samples > 1 && temperature <= 0) throw new Error('self-consistency (samples > 1) needs a temperature above 0');
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 6));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const baseMaxTokens = (n: number) => options.maxTokens ?? 400 + 300 * n;
  const maxTokensCap = (n: number) => options.maxTokensCap ?? 4 * baseMaxTokens(n);
  const structured = options.structured ?? true;
  const shots = options.shots ?? 4;
  const backoffBase = options.backoffBaseMs ?? 500;
  const backoffMax = options.backoffMaxMs ?? 30_000;
  const types = options.definitions.map((d) => d.name);
  const pricing = options.price
    ? { price: options.price, known: true }
    : priceFor(provider.model, options.prices ?? {});
  const selector = options.demos && options.demos.length > 0 && shots > 0 ? new DemoSelector(options.demos) : undefined;
  const ownCache = typeof options.cache === 'string';
  const cache = typeof options.cache === 'string' ? new ResponseCache(options.cache) : options.cache;

  const stats: AnnotateStats = {
    sentences: sentences.length,
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
    missingFromBatch: 0,
    splitBatches: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    cachedCompletionTokens: 0,
    costUsd: 0,
    priceKnown: pricing.known,
    hallucinations: 0,
    rejectedByReason: {},
    simulated: provider.model.startsWith(SIM_MODEL_PREFIX),
    elapsedMs: 0,
  };

  // ---- building requests --------------------------------------------------------------------------
  const demoCache = new Map<string, Demo[]>();
  const demosFor = (members: number[]): Demo[] => {
    if (!selector) return [];
    const k = members.join(',');
    let d = demoCache.get(k);
    if (!d) {
      d = selector.select(members.map((i) => sentences[i]!.tokens), shots);
      demoCache.set(k, d);
    }
    return d;
  };
  const buildRequest = (task: Task): { request: ChatRequest; key: string } => {
    const ps: PromptSentence[] = task.members.map((i, j) => ({ id: String(j + 1), tokens: sentences[i]!.tokens }));
    const messages = buildMessages(ps, demosFor(task.members), { definitions: options.definitions, structured });
    const seed = task.sample + 1000 * task.attempt;
    const jsonSchema = structured ? answerSchema(types, ps.length > 1) : undefined;
    const request: ChatRequest = {
      messages,
      temperature,
      maxTokens: task.maxTokens,
      seed,
      timeoutMs,
      ...(jsonSchema ? { jsonSchema } : {}),
    };
    const key = requestKey({
      provider: provider.kind,
      model: provider.model,
      messages,
      temperature,
      maxTokens: task.maxTokens,
      seed,
      jsonSchema,
      sample: task.sample,
      attempt: task.attempt,
    });
    return { request, key };
  };

  const initialTasks: Task[] = [];
  for (let b = 0; b < sentences.length; b += batchSize) {
    const members = Array.from({ length: Math.min(batchSize, sentences.length - b) }, (_, i) => b + i);
    for (let s = 0; s < samples; s++) initialTasks.push({ members, sample: s, attempt: 0, maxTokens: baseMaxTokens(members.length) });
  }
  stats.plannedRequests = initialTasks.length;

  // completion tokens per sentence, learnt from answers as they come (for estimates)
  let seenCompletion = 0;
  let seenCompletionSentences = 0;
  const completionPerSentence = () =>
    seenCompletionSentences > 0 ? seenCompletion / seenCompletionSentences : PRIOR_COMPLETION_PER_SENTENCE;
  const estimateCost = (request: ChatRequest, n: number) =>
    costOf({ promptTokens: estimatePromptTokens(request.messages), completionTokens: Math.min(request.maxTokens, completionPerSentence() * n) }, pricing.price);

  // ---- dry run ------------------------------------------------------------------------------------
  if (options.dryRun) {
    const est: DryRunEstimate = { requests: 0, cachedRequests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, priceKnown: pricing.known, price: pricing.price };
    for (const task of initialTasks) {
      const { request, key } = buildRequest(task);
      const hit = cache?.get(key);
      if (hit) {
        est.cachedRequests++;
        continue;
      }
      est.requests++;
      const p = estimatePromptTokens(request.messages);
      const c = Math.min(request.maxTokens, PRIOR_COMPLETION_PER_SENTENCE * task.members.length);
      est.promptTokens += p;
      est.completionTokens += c;
      est.costUsd += costOf({ promptTokens: p, completionTokens: c }, pricing.price);
    }
    if (ownCache) cache?.close();
    stats.pending = sentences.length;
    stats.elapsedMs = Date.now() - started;
    return { sentences: [], failed: [], stats, estimate: est };
  }

  // ---- state --------------------------------------------------------------------------------------
  const state: SentenceState[] = sentences.map(() => ({ results: new Map(), failedSamples: new Map(), done: false }));
  const annotated: Array<AnnotatedSentence | undefined> = new Array(sentences.length);
  const failed: AnnotateResult['failed'] = [];
  let teacherModel = provider.model;
  const progress = new Progress(sentences.length, { label: 'annotate', unit: 'sentences', enabled: options.progress ?? false });
  const updateProgress = () => {
    progress.setFields({
      tok: stats.promptTokens + stats.completionTokens,
      $: stats.costUsd,
      cached: stats.cacheHits,
      retries: stats.retries,
    });
  };
  let stoppedBy: AnnotateResult['stoppedBy'];
  let fatalError: string | undefined;
  let simNoticeShown = false;
  const noticeSim = (model: string) => {
    if (simNoticeShown || !model.startsWith(SIM_MODEL_PREFIX)) return;
    simNoticeShown = true;
    stats.simulated = true;
    (options.progress ? (l: string) => progress.log(l) : log)(
      'NOTE: the teacher is nerd teacher-sim — a SIMULATED teacher replaying gold labels with injected noise, not a real LLM.',
    );
  };

  const finish = (i: number): void => {
    const st = state[i]!;
    if (st.done || st.results.size + st.failedSamples.size < samples) return;
    st.done = true;
    const s = sentences[i]!;
    const id = s.id ?? String(i + 1);
    if (st.results.size === 0) {
      stats.failed++;
      failed.push({ id, index: i, reason: [...new Set(st.failedSamples.values())].join('; ') });
      progress.tick(1);
      updateProgress();
      return;
    }
    const sampleIdx = [...st.results.keys()].sort((a, b) => a - b);
    const rejected: RejectedEntity[] = [];
    for (const si of sampleIdx) {
      for (const r of st.results.get(si)!.rejected) rejected.push(samples > 1 ? { ...r, sample: si } : r);
    }
    const voted = vote(sampleIdx.map((si) => st.results.get(si)!.spans), options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {});
    rejected.push(...voted.rejected);
    for (const r of rejected) {
      stats.rejectedByReason[r.reason] = (stats.rejectedByReason[r.reason] ?? 0) + 1;
      if (r.reason === 'not-found') stats.hallucinations++;
    }
    annotated[i] = {
      id,
      index: i,
      tokens: s.tokens,
      entities: voted.kept.map((v) => {
        const e: AnnotatedEntity = { start: v.start, end: v.end, label: v.label, text: v.text, confidence: v.confidence };
        const offs = s.tokenOffsets;
        if (offs && offs[v.start] && offs[v.end - 1]) {
          e.charStart = offs[v.start]![0];
          e.charEnd = offs[v.end - 1]![1];
        }
        return e;
      }),
      rejected,
      teacher: { model: teacherModel, samples: sampleIdx.length },
    };
    stats.annotated++;
    progress.tick(1);
    updateProgress();
  };

  // ---- calling the provider -----------------------------------------------------------------------
  let notBefore = 0; // a 429's Retry-After holds back every request until then
  let spent = 0;
  let reserved = 0;
  let budgetHit = false;
  const inFlight = new Map<string, Promise<ChatResponse>>();
  const cancel = options.signal;
  // one listener per request in flight and per back-off wait: more than the default 10 is expected
  if (cancel) setMaxListeners(Math.max(100, concurrency * 4), cancel);

  const callOnce = async (request: ChatRequest): Promise<ChatResponse> => {
    const controller = new AbortController();
    const onCancel = () => controller.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        provider.complete(request, controller.signal),
        new Promise<never>((_, reject) => {
          // a guard in case a provider does not honour timeoutMs itself
          timer = setTimeout(() => {
            controller.abort();
            reject(new ProviderError(`no answer within ${timeoutMs} ms`, true, undefined, undefined, 'timeout'));
          }, timeoutMs + 1000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    }
  };

  const callWithRetries = async (request: ChatRequest): Promise<ChatResponse> => {
    for (let retry = 0; ; retry++) {
      const wait = notBefore - Date.now();
      if (wait > 0) await sleep(wait, cancel);
      if (cancel?.aborted) throw new ProviderError('cancelled', false, undefined, undefined, 'aborted');
      try {
        stats.requests++;
        return await callOnce(request);
      } catch (err) {
        if (cancel?.aborted) throw new ProviderError('cancelled', false, undefined, undefined, 'aborted');
        const pe = err instanceof ProviderError ? err : new ProviderError(err instanceof Error ? err.message : String(err), false);
        if (pe.status === 429 || pe.code === 'rate_limit') stats.rateLimited++;
        else if (pe.code === 'timeout') stats.timeouts++;
        else if ((pe.status ?? 0) >= 500 || pe.code === 'server') stats.serverErrors++;
        if (pe.code === 'auth' || pe.status === 401 || pe.status === 403) throw new FatalError(`the server refused the credentials: ${pe.message}`);
        if (!pe.retryable || retry >= maxRetries) throw pe;
        stats.retries++;
        updateProgress();
        const backoff = Math.min(backoffMax, backoffBase * 2 ** retry);
        const jittered = backoff / 2 + (Math.random() * backoff) / 2;
        const retryAfter = pe.retryAfterMs ?? 0;
        if (retryAfter > 0) notBefore = Math.max(notBefore, Date.now() + retryAfter);
        // never sooner than Retry-After; otherwise back-off with jitter
        await sleep(Math.max(jittered, retryAfter), cancel);
      }
    }
  };

  /** the answer to `request`: from the cache, from an identical call in flight, or paid for */
  const obtain = async (request: ChatRequest, key: string, n: number): Promise<ChatResponse | 'budget'> => {
    const hit = cache?.get(key);
    if (hit) {
      stats.cacheHits++;
      stats.cachedPromptTokens += hit.usage.promptTokens;
      stats.cachedCompletionTokens += hit.usage.completionTokens;
      return hit;
    }
    const shared = inFlight.get(key);
    if (shared) {
      stats.sharedInFlight++;
      return shared;
    }
    const est = estimateCost(request, n);
    if (options.maxCost !== undefined && (budgetHit || spent + reserved + est > options.maxCost)) {
      budgetHit = true;
      return 'budget';
    }
    reserved += est;
    const promise = (async () => {
      try {
        const r = await callWithRetries(request);
        cache?.put(key, r);
        stats.promptTokens += r.usage.promptTokens;
        stats.completionTokens += r.usage.completionTokens;
        const c = costOf(r.usage, pricing.price);
        spent += c;
        stats.costUsd = spent;
        if (r.finishReason === 'stop') {
          seenCompletion += r.usage.completionTokens;
          seenCompletionSentences += n;
        }
        return r;
      } finally {
        reserved -= est;
        inFlight.delete(key);
      }
    })();
    inFlight.set(key, promise);
    return promise;
  };

  // ---- the work queue -----------------------------------------------------------------------------
  const queue: Task[] = [...initialTasks];
  let active = 0;
  /** workers waiting for work; woken whenever a task ends or new tasks arrive */
  const wakers: Array<() => void> = [];
  const wakeAll = () => {
    for (const f of wakers.splice(0)) f();
  };
  const push = (tasks: Task[]) => {
    queue.unshift(...tasks); // follow-ups first: they finish sentences already started
    wakeAll();
  };

  const failSample = (i: number, sample: number, reason: string) => {
    state[i]!.failedSamples.set(sample, reason);
    finish(i);
  };

  const giveUp = (task: Task, reason: string) => {
    if (task.members.length > 1) {
      stats.splitBatches++;
      push(task.members.map((i) => ({ members: [i], sample: task.sample, attempt: 0, maxTokens: baseMaxTokens(1) })));
    } else {
      failSample(task.members[0]!, task.sample, reason);
    }
  };

  const runTask = async (task: Task): Promise<void> => {
    for (;;) {
      const { request, key } = buildRequest(task);
      let response: ChatResponse | 'budget';
      try {
        response = await obtain(request, key, task.members.length);
      } catch (err) {
        if (err instanceof FatalError) throw err;
        const pe = err as ProviderError;
        if (pe.code === 'aborted') {
          return;
        }
        giveUp(task, `request failed: ${pe.message}`);
        return;
      }
      if (response === 'budget') {
        return;
      }
      teacherModel = response.model || teacherModel;
      noticeSim(response.model);
      if (response.finishReason === 'length') {
        stats.truncated++;
        if (task.maxTokens * 2 <= maxTokensCap(task.members.length)) {
          task = { ...task, maxTokens: task.maxTokens * 2 };
          continue;
        }
        giveUp(task, `answer cut off by the token limit even at max-tokens ${task.maxTokens}`);
        return;
      }
      const ids = task.members.map((_, j) => String(j + 1));
      let parsed;
      try {
        if (response.finishReason !== 'stop') throw new AnswerParseError(`finish_reason ${response.finishReason}`);
        parsed = parseAnswer(response.text, ids);
      } catch (err) {
        if (!(err instanceof AnswerParseError)) throw err;
        stats.parseFailures++;
        if (task.attempt < maxRetries) {
          task = { ...task, attempt: task.attempt + 1 };
          continue;
        }
        giveUp(task, `no usable answer after ${task.attempt + 1} asks (${err.message})`);
        return;
      }
      const missing: number[] = [];
      task.members.forEach((i, j) => {
        const entities = parsed.results.get(ids[j]!);
        if (!entities) {
          missing.push(i);
          return;
        }
        state[i]!.results.set(task.sample, groundEntities(sentences[i]!.tokens, entities, types));
        finish(i);
      });
      if (missing.length > 0) {
        if (task.members.length > 1) {
          stats.missingFromBatch += missing.length;
          push(missing.map((i) => ({ members: [i], sample: task.sample, attempt: 0, maxTokens: baseMaxTokens(1) })));
        } else if (task.attempt < maxRetries) {
          stats.parseFailures++;
          task = { ...task, attempt: task.attempt + 1 };
          continue;
        } else {
          failSample(missing[0]!, task.sample, 'the answer never listed this sentence');
        }
      }
      return;
    }
  };

  updateProgress();
  try {
    const poolWorker = async (): Promise<void> => {
      for (;;) {
        if (fatalError || cancel?.aborted) return;
        const task = queue.shift();
        if (!task) {
          if (active === 0) {
            wakeAll();
            return;
          }
          await new Promise<void>((r) => wakers.push(r));
          continue;
        }
        active++;
        try {
          await runTask(task);
        } catch (err) {
          fatalError = err instanceof Error ? err.message : String(err);
          stoppedBy = 'fatal';
        } finally {
          active--;
          wakeAll();
        }
      }
    };
    const workers: Promise<void>[] = [];
    cancel?.addEventListener('abort', wakeAll, { once: true });
    for (let w = 0; w < concurrency; w++) workers.push(poolWorker());
    await Promise.all(workers);
  } finally {
    progress.stop();
    if (ownCache) cache?.close();
  }

  if (!stoppedBy && cancel?.aborted) stoppedBy = 'cancelled';
  if (!stoppedBy && budgetHit) stoppedBy = 'budget';
  stats.pending = state.filter((s) => !s.done).length;
  stats.elapsedMs = Date.now() - started;
  failed.sort((a, b) => a.index - b.index);
  return {
    sentences: annotated.filter((a): a is AnnotatedSentence => a !== undefined),
    failed,
    stats,
    ...(stoppedBy ? { stoppedBy } : {}),
    ...(fatalError ? { fatalError } : {}),
  };
}

/** The JSONL line of one annotated sentence (see the output format in commands.ts). */
export function annotationLine(a: AnnotatedSentence): string {
  return JSON.stringify({ id: a.id, tokens: a.tokens, entities: a.entities, rejected: a.rejected, teacher: a.teacher });
}

/**
 * Writes annotations as JSONL, one sentence per line in input order, atomically: the lines go to a
 * temporary file beside `file`, which is flushed to disk and then renamed over `file`. A kill at any moment
 * leaves either the previous complete file or the new complete one — never a partial or duplicated line.
 * (The cache is the job's journal: rerunning rebuilds the whole file from it for free, so the output needs
 * no append-and-dedupe logic of its own.)
 */
export function writeAnnotations(file: string, sentences: AnnotatedSentence[]): void {
  const dir = dirname(resolve(file));
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const chunk: string[] = [];
    for (const a of sentences) {
      chunk.push(annotationLine(a));
      if (chunk.length >= 1000) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk.length = 0;
      }
    }
    if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
