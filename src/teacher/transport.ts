/**
 * Getting an answer to one request: from the cache, from an identical request in flight, or paid for.
 *
 * - Cache hit → free. A request identical to one in flight waits for that one instead of paying again (the
 *   same headline twice in a corpus).
 * - Otherwise the ledger reserves the estimated cost (or refuses: budget), and the provider is called,
 *   retrying retryable failures (429, 5xx, timeouts, resets, non-JSON bodies) with exponential back-off and
 *   full jitter, never sooner than the server's Retry-After; a 429 also holds back every other request
 *   until its Retry-After has passed.
 * - Fail fast (FatalError: the job stops, keeps what is done, and the CLI exits non-zero with one line):
 *     refused credentials (401/403);
 *     404 (a wrong --base-url path or an unknown model);
 *     before any request has succeeded: connection refused, DNS failure or TLS failure — the address is
 *       wrong or the server is down, and retrying per sentence would take minutes to say so;
 *     the first FAIL_FAST_FAILURES calls all failing the same way (same kind and HTTP status), with no
 *       success among them (429s aside: a burst at the start is throttled, not broken).
 *   After a success, a refused connection is taken as a server restarting and retried like a reset.
 * Answers paid for are put in the cache at once (the job's journal, see cache.ts).
 */
import { setMaxListeners } from 'node:events';
import type { ChatProvider, ChatRequest, ChatResponse } from './providers/types.js';
import { ProviderError } from './providers/types.js';
import type { ResponseCache } from './cache.js';
import type { Ledger } from './ledger.js';

/** a failure that stops the whole job */
export class FatalError extends Error {}

/** failures, all alike and before any success, after which the job stops */
export const FAIL_FAST_FAILURES = 6;

export interface TransportStats {
  requests: number;
  cacheHits: number;
  cachedPromptTokens: number;
  cachedCompletionTokens: number;
  sharedInFlight: number;
  retries: number;
  rateLimited: number;
  timeouts: number;
  serverErrors: number;
}

export interface TransportOptions {
  provider: ChatProvider;
  cache?: ResponseCache;
  ledger: Ledger;
  stats: TransportStats;
  timeoutMs: number;
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  concurrency: number;
  signal?: AbortSignal;
  /** called after each retry is decided (progress display) */
  onRetry?: () => void;
}

/** waits `ms`, or less if `signal` fires; leaves no listener behind */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
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

const aborted = () => new ProviderError('cancelled', false, undefined, undefined, 'aborted');

export class Transport {
  /** a 429's Retry-After holds back every request until then */
  private notBefore = 0;
  private readonly inFlight = new Map<string, Promise<ChatResponse>>();
  /** whether any call has succeeded (fail-fast rules apply before) */
  private succeeded = false;
  /** kinds of the failures seen before the first success */
  private readonly earlyFailures: string[] = [];

  constructor(private readonly o: TransportOptions) {
    // one listener per request in flight and per back-off wait: more than the default 10 is expected
    if (o.signal) setMaxListeners(Math.max(100, o.concurrency * 4), o.signal);
  }

  /** the answer to `request` about `n` sentences, or 'budget' when the budget does not allow paying for it */
  async obtain(request: ChatRequest, key: string, n: number): Promise<ChatResponse | 'budget'> {
    const { cache, ledger, stats } = this.o;
    const hit = cache?.get(key);
    if (hit) {
      stats.cacheHits++;
      stats.cachedPromptTokens += hit.usage.promptTokens;
      stats.cachedCompletionTokens += hit.usage.completionTokens;
      return hit;
    }
    const shared = this.inFlight.get(key);
    if (shared) {
      stats.sharedInFlight++;
      return shared;
    }
    const est = ledger.estimate(request, n);
    if (!ledger.reserve(est)) return 'budget';
    const promise = (async () => {
      try {
        const r = await this.callWithRetries(request);
        cache?.put(key, r);
        ledger.settle(r, n);
        return r;
      } finally {
        ledger.release(est);
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return promise;
  }

  private async callOnce(request: ChatRequest): Promise<ChatResponse> {
    const { provider, signal, timeoutMs } = this.o;
    const controller = new AbortController();
    const onCancel = () => controller.abort();
    signal?.addEventListener('abort', onCancel, { once: true });
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
      signal?.removeEventListener('abort', onCancel);
    }
  }

  private async callWithRetries(request: ChatRequest): Promise<ChatResponse> {
    const { signal, stats, maxRetries, backoffBaseMs, backoffMaxMs } = this.o;
    for (let retry = 0; ; retry++) {
      const wait = this.notBefore - Date.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal?.aborted) throw aborted();
      try {
        stats.requests++;
        const r = await this.callOnce(request);
        this.succeeded = true;
        return r;
      } catch (err) {
        if (signal?.aborted) throw aborted();
        const pe =
          err instanceof ProviderError
            ? err
            : new ProviderError(err instanceof Error ? err.message : String(err), false);
        if (pe.status === 429 || pe.code === 'rate_limit') stats.rateLimited++;
        else if (pe.code === 'timeout') stats.timeouts++;
        else if ((pe.status ?? 0) >= 500 || pe.code === 'server') stats.serverErrors++;
        this.failFast(pe);
        if (!pe.retryable || retry >= maxRetries) throw pe;
        stats.retries++;
        this.o.onRetry?.();
        const backoff = Math.min(backoffMaxMs, backoffBaseMs * 2 ** retry);
        const jittered = backoff / 2 + (Math.random() * backoff) / 2;
        const retryAfter = pe.retryAfterMs ?? 0;
        if (retryAfter > 0) this.notBefore = Math.max(this.notBefore, Date.now() + retryAfter);
        // never sooner than Retry-After; otherwise back-off with jitter
        await sleep(Math.max(jittered, retryAfter), signal);
      }
    }
  }

  /** throws FatalError when `pe` means no further request can succeed (rules: the top of this file) */
  private failFast(pe: ProviderError): void {
    if (pe.code === 'auth' || pe.status === 401 || pe.status === 403)
      throw new FatalError(`the server refused the credentials: ${pe.message}`);
    if (pe.code === 'not_found') throw new FatalError(pe.message);
    if (this.succeeded) return;
    if (pe.code === 'unreachable') throw new FatalError(pe.message);
    if (pe.code === 'rate_limit' || pe.status === 429) return; // a burst at the start is throttled, not broken
    this.earlyFailures.push(`${pe.code ?? 'other'}:${pe.status ?? ''}`);
    const n = this.earlyFailures.length;
    if (n >= FAIL_FAST_FAILURES && this.earlyFailures.every((k) => k === this.earlyFailures[0])) {
      throw new FatalError(`the first ${n} requests all failed the same way, none succeeded: ${pe.message}`);
    }
  }
}
