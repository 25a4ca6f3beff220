/**
 * The annotation job: sentences in, grounded and voted entity spans out, surviving real LLMs and networks.
 *
 * Plan. Sentences are read from the input as the work needs them (pool.ts: at most `window` open at once)
 * and cut into batches of `batch` consecutive sentences; each batch is asked `samples` times (sample s:
 * temperature > 0, seed s). One task = one batch × one sample. Its request is built by requests.ts, paid
 * for or found in the cache by transport.ts under the ledger's budget (ledger.ts), and its answer is turned
 * into per-sentence results by reactions.ts; assembly.ts votes and hands sentences on in input order.
 *
 * The job's reactions to an answer (re-ask with feedback, raise the max-tokens, split a batch, fail a
 * sample) are in reactions.ts; they are deterministic, so a rerun replays them from the cache for free.
 * Fatal errors (transport.ts: unreachable endpoint, 404, refused credentials, the first requests all
 * failing alike) stop the job: what is done is kept. Everything a rerun needs is in the cache, so rerunning
 * after a crash, a kill -9 or a budget stop replays the cached answers for free and asks only what is
 * missing.
 *
 * Failed sentences (every sample failed) and sentences left by a stop are not handed on: an annotation with
 * no entities would teach the student that nothing there is a name. They are counted in `failed` /
 * `pending`.
 */
import type { Sentence } from '../corpus/types.js';
import { Progress } from '../progress.js';
import type { ChatResponse } from './providers/types.js';
import { SIM_MODEL_PREFIX } from './providers/types.js';
import { ResponseCache } from './cache.js';
import { costOf, priceFor, unknownPriceHint } from './pricing.js';
import { DemoSelector } from './demos.js';
import { estimatePromptTokens, RequestBuilder, type Task } from './requests.js';
import { reactTo, type ReactionContext } from './reactions.js';
import { Ledger, PRIOR_COMPLETION_PER_SENTENCE } from './ledger.js';
import { FatalError, Transport } from './transport.js';
import { WorkPool } from './pool.js';
import { Assembler, type AnnotatedSentence, type FailedSentence } from './assembly.js';
import {
  newStats,
  type AnnotateOptions,
  type AnnotateResult,
  type AnnotateStreamOptions,
  type AnnotateStreamResult,
  type DryRunEstimate,
} from './job-types.js';

export { SIM_MODEL_PREFIX };
export { estimateTokens } from './requests.js';
export { annotationLine, writeAnnotations, AnnotationWriter } from './output.js';
export type { AnnotatedEntity, AnnotatedSentence, FailedSentence } from './assembly.js';
export type {
  AnnotateOptions,
  AnnotateResult,
  AnnotateStats,
  AnnotateStreamOptions,
  AnnotateStreamResult,
  DryRunEstimate,
} from './job-types.js';

/** Annotates an array of sentences; the result holds every annotated sentence, in input order. */
export async function annotate(options: AnnotateOptions): Promise<AnnotateResult> {
  const sentences: AnnotatedSentence[] = [];
  const failed: FailedSentence[] = [];
  const { sentences: input, ...rest } = options;
  const r = await annotateStream({
    ...rest,
    input,
    total: input.length,
    onSentence: (a) => sentences.push(a),
    onFailed: (f) => failed.push(f),
  });
  return { ...r, sentences, failed };
}

async function* batchesOf(
  input: Iterable<Sentence> | AsyncIterable<Sentence>,
  size: number,
): AsyncGenerator<Sentence[]> {
  let batch: Sentence[] = [];
  for await (const s of input) {
    batch.push(s);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Annotates a stream of sentences, handing each annotated sentence to `onSentence` in input order. Memory
 * is bounded by the sentences in flight (`window`), not by the input.
 */
export async function annotateStream(options: AnnotateStreamOptions): Promise<AnnotateStreamResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const provider = options.provider;
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
  const types = options.definitions.map((d) => d.name);
  const pricing = options.price
    ? { price: options.price, known: true }
    : provider.kind === 'llama-cpp'
      ? { price: { input: 0, output: 0 }, known: true } // a local model costs no money
      : priceFor(provider.model, options.prices ?? {});
  if (options.maxCost !== undefined && !pricing.known) throw new Error(unknownPriceHint(provider.model));
  const shots = options.shots ?? 4;
  const selector = options.demos && options.demos.length > 0 && shots > 0 ? new DemoSelector(options.demos) : undefined;
  const ownCache = typeof options.cache === 'string';
  const cache = typeof options.cache === 'string' ? new ResponseCache(options.cache) : options.cache;
  const stats = newStats(provider.model.startsWith(SIM_MODEL_PREFIX), pricing.known);
  const window = Math.max(options.window ?? 0, 4 * concurrency * batchSize, 64);

  // endpoint quirks: start with what an earlier run learnt, remember what this one learns
  if (cache && provider.endpoint) {
    const known = cache.getQuirks(provider.endpoint);
    if (known) provider.quirks = { ...provider.quirks, ...known };
    provider.onAdapt = (quirks, note) => {
      stats.adaptations++;
      cache.putQuirks(provider.endpoint!, quirks);
      log(`annotate: ${provider.endpoint}: adapted to the endpoint: ${note}`);
    };
  }

  const assembler = new Assembler({
    samples,
    ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
    stats,
    model: () => teacherModel,
    emit: options.onSentence,
    fail: (f) => options.onFailed?.(f),
    onFinished: () => {
      progress.tick(1);
      updateProgress();
    },
  });
  const builder = new RequestBuilder(
    {
      provider,
      definitions: options.definitions,
      structured,
      temperature,
      timeoutMs,
      shots,
      ...(selector ? { selector } : {}),
    },
    (i) => assembler.sentence(i),
  );
  let read = 0;
  const batches = batchesOf(options.input, batchSize);
  const nextBatch = async (): Promise<number[]> => {
    const b = await batches.next();
    if (b.done) return [];
    return b.value.map((s) => {
      const i = read++;
      assembler.add(i, s);
      return i;
    });
  };
  const tasksFor = (members: number[]): Task[] =>
    Array.from({ length: samples }, (_, s) => ({
      members,
      sample: s,
      attempt: 0,
      maxTokens: baseMaxTokens(members.length),
    }));

  const finishStats = (pendingUnread: number) => {
    stats.sentences = read + pendingUnread;
    stats.elapsedMs = Date.now() - started;
  };
  const drainCount = async (): Promise<number> => {
    let n = 0;
    for (let b = await batches.next(); !b.done; b = await batches.next()) n += b.value.length;
    return n;
  };

  // ---- dry run ------------------------------------------------------------------------------------
  if (options.dryRun) {
    const est: DryRunEstimate = {
      requests: 0,
      cachedRequests: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
      priceKnown: pricing.known,
      price: pricing.price,
    };
    try {
      for (let members = await nextBatch(); members.length > 0; members = await nextBatch()) {
        for (const task of tasksFor(members)) {
          stats.plannedRequests++;
          const { request, key } = builder.build(task);
          if (cache?.get(key)) {
            est.cachedRequests++;
            continue;
          }
          est.requests++;
          const p = estimatePromptTokens(request.messages);
          const c = Math.min(request.maxTokens, PRIOR_COMPLETION_PER_SENTENCE * members.length);
          est.promptTokens += p;
          est.completionTokens += c;
          est.costUsd += costOf({ promptTokens: p, completionTokens: c }, pricing.price);
        }
        assembler.flush();
      }
    } finally {
      if (ownCache) cache?.close();
    }
    stats.pending = read;
    finishStats(0);
    return { stats, estimate: est };
  }

  // ---- the run ------------------------------------------------------------------------------------
  let teacherModel = provider.model;
  const progress = new Progress(options.total ?? 0, {
    label: 'annotate',
    unit: 'sentences',
    enabled: options.progress ?? false,
  });
  const updateProgress = () =>
    progress.setFields({
      tok: stats.promptTokens + stats.completionTokens,
      $: stats.costUsd,
      cached: stats.cacheHits,
      retries: stats.retries,
    });
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
  const cancel = options.signal;
  const ledger = new Ledger(pricing.price, options.maxCost, stats);
  const transport = new Transport({
    provider,
    ...(cache ? { cache } : {}),
    ledger,
    stats,
    timeoutMs,
    maxRetries,
    backoffBaseMs: options.backoffBaseMs ?? 500,
    backoffMaxMs: options.backoffMaxMs ?? 30_000,
    concurrency,
    ...(cancel ? { signal: cancel } : {}),
    onRetry: updateProgress,
  });
  const pool: WorkPool<Task> = new WorkPool<Task>({
    concurrency,
    window,
    open: () => assembler.size,
    feed: async () => {
      const members = await nextBatch();
      if (members.length > 0) stats.plannedRequests += samples;
      return members.length > 0 ? tasksFor(members) : [];
    },
    run: (task) =>
      runTask(task).catch((err: unknown) => {
        fatalError ??= err instanceof Error ? err.message : String(err);
        pool.stop();
      }),
    stopped: () => fatalError !== undefined || ledger.budgetHit || (cancel?.aborted ?? false),
    ...(cancel ? { signal: cancel } : {}),
  });

  const alone = (members: number[], sample: number): Task[] =>
    members.map((i) => ({ members: [i], sample, attempt: 0, maxTokens: baseMaxTokens(1) }));
  const giveUp = (task: Task, reason: string) => {
    if (task.members.length > 1) {
      stats.splitBatches++;
      pool.push(alone(task.members, task.sample));
    } else {
      assembler.failSample(task.members[0]!, task.sample, reason);
    }
  };

  const reactions: ReactionContext = {
    stats,
    maxRetries,
    maxTokensCap,
    types,
    conventions: options.conventions,
    assembler,
    giveUp,
    retryAlone: (members, sample) => pool.push(alone(members, sample)),
  };

  /** runs one task to its end; throws FatalError to stop the job */
  const runTask = async (task: Task): Promise<void> => {
    for (;;) {
      const { request, key } = builder.build(task);
      let response: ChatResponse | 'budget';
      try {
        response = await transport.obtain(request, key, task.members.length);
      } catch (err) {
        if (err instanceof FatalError) throw err;
        const pe = err as Error & { code?: string };
        if (pe.code === 'aborted') return;
        giveUp(task, `request failed: ${pe.message}`);
        return;
      }
      if (response === 'budget') return;
      teacherModel = response.model || teacherModel;
      noticeSim(response.model);
      const next = reactTo(task, response, reactions);
      if (!next) return;
      task = next;
    }
  };

  updateProgress();
  let unread = 0;
  try {
    await pool.run();
    if (fatalError !== undefined || ledger.budgetHit || cancel?.aborted) unread = await drainCount();
  } finally {
    progress.stop();
    if (ownCache) cache?.close();
  }
  stats.pending = assembler.flush() + unread;
  finishStats(unread);
  const stoppedBy: AnnotateStreamResult['stoppedBy'] =
    fatalError !== undefined ? 'fatal' : cancel?.aborted ? 'cancelled' : ledger.budgetHit ? 'budget' : undefined;
  return { stats, ...(stoppedBy ? { stoppedBy } : {}), ...(fatalError !== undefined ? { fatalError } : {}) };
}
