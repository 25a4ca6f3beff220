/**
 * `nerd serve`: the student model behind an HTTP API.
 *
 *   POST /predict  {"texts": ["Jane lives in Paris."]}            → entities with character AND token offsets
 *                  {"sentences": [["Jane", "lives", "in", "Paris", "."]]} → entities with token offsets
 *   GET  /health   status (ok | degraded | error), queue depth and age, model, limits, counters
 *   GET  /stats    the scheduler's counters alone
 *
 * Concurrent requests are micro-batched fairly (see batcher.ts): one model call serves many requests,
 * filled round-robin between requests; work is admitted by estimated tokens; a request whose client
 * disconnects is cancelled; each request has a deadline. Status codes of the limits:
 *   413  one request too large (body, items, characters, tokens)
 *   503  saturated (queued work over `maxQueueTokens`; Retry-After), deadline passed (Retry-After),
 *        or shutting down
 *   500  the model failed on this request (e.g. its worker died; the worker is restarted)
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { MicroBatcher } from './batcher.js';
import { type BatcherOptions, BusyError, CancelledError, DeadlineError, ShutdownError } from './batcher-types.js';
import { HttpError, setupHttp } from './http.js';
import { EMPTY_RESULT_JSON, toApiJson } from './api-json.js';
import type { Predictor } from './predictor.js';

export interface ServeLimits {
  /** bytes per request body */
  bodyLimit: number;
  /** texts or sentences per request */
  maxItems: number;
  /** characters per text */
  maxTextChars: number;
  /** tokens per pre-tokenised sentence */
  maxTokens: number;
  /** milliseconds a request may wait for its answer before it fails with 503 (its queued work dropped) */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyLimit: 1 << 20,
  maxItems: 1000,
  maxTextChars: 20_000,
  maxTokens: 2_000,
  requestTimeoutMs: 30_000,
};
/**
 * maxQueueTokens: ~2 MB of text waiting (about 10 s of work for `mini` on one core at 50k tokens/s);
 * maxBatchTokens bounds one model call, hence how long a small request can wait behind a big one.
 */
export const DEFAULT_BATCHING: BatcherOptions = {
  maxBatch: 64,
  maxBatchTokens: 4096,
  maxWaitMs: 2,
  maxQueueTokens: 500_000,
};

/**
 * Work of one item in sub-word tokens, estimated from characters so that admission costs nothing on the
 * event loop: English WordPiece averages ~4.5 characters per sub-word counting spaces; [CLS] and [SEP]
 * add 2. Pre-tokenised sentences: one per token plus one per further 8 characters.
 */
export function estimateTokens(item: Item): number {
  if (item.kind === 'text') return Math.ceil(item.text.length / 4) + 2;
  let n = 2;
  for (const t of item.tokens) n += 1 + (t.length >> 3);
  return n;
}

export interface ServeOptions {
  predictor: Predictor;
  host?: string;
  port?: number;
  token?: string;
  limits?: Partial<ServeLimits>;
  batching?: Partial<BatcherOptions>;
  /** worker facts for /health (count, restarts) */
  workers?: () => Record<string, unknown>;
}

type Item = { kind: 'text'; text: string } | { kind: 'tokens'; tokens: string[] };

export type { ApiEntity, ApiResult } from './api-json.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** checks a /predict body and returns its items; throws HttpError(400 or 413) naming the offending field */
export function parsePredictBody(body: unknown, limits: ServeLimits): Item[] {
  const usage = 'send {"texts": ["..."]} or {"sentences": [["tok", ...]]}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'bad_request', `request body must be a JSON object, got ${describe(body)}; ${usage}`);
  }
  const keys = Object.keys(body);
  const unknown = keys.filter((k) => k !== 'texts' && k !== 'sentences');
  if (unknown.length > 0)
    throw new HttpError(400, 'bad_request', `unknown field ${JSON.stringify(unknown[0])}; ${usage}`);
  if (keys.length !== 1)
    throw new HttpError(400, 'bad_request', `give exactly one of "texts" or "sentences"; ${usage}`);
  const b = body as { texts?: unknown; sentences?: unknown };
  const field = keys[0] as 'texts' | 'sentences';
  const list = b[field];
  if (!Array.isArray(list))
    throw new HttpError(400, 'bad_request', `"${field}" must be an array, got ${describe(list)}`);
  if (list.length > limits.maxItems) {
    throw new HttpError(
      413,
      'too_many_items',
      `"${field}" has ${list.length} items; the limit is ${limits.maxItems} per request`,
    );
  }
  if (field === 'texts') {
    return list.map((t, i) => {
      if (typeof t !== 'string')
        throw new HttpError(400, 'bad_request', `texts[${i}] must be a string, got ${describe(t)}`);
      if (t.length > limits.maxTextChars) {
        throw new HttpError(
          413,
          'text_too_long',
          `texts[${i}] has ${t.length} characters; the limit is ${limits.maxTextChars}`,
        );
      }
      return { kind: 'text', text: t } as const;
    });
  }
  return list.map((s, i) => {
    if (!Array.isArray(s))
      throw new HttpError(400, 'bad_request', `sentences[${i}] must be an array of token strings, got ${describe(s)}`);
    if (s.length > limits.maxTokens) {
      throw new HttpError(
        413,
        'sentence_too_long',
        `sentences[${i}] has ${s.length} tokens; the limit is ${limits.maxTokens}`,
      );
    }
    s.forEach((tok, j) => {
      if (typeof tok !== 'string')
        throw new HttpError(400, 'bad_request', `sentences[${i}][${j}] must be a string, got ${describe(tok)}`);
      if (tok.length === 0)
        throw new HttpError(400, 'bad_request', `sentences[${i}][${j}] is an empty string: tokens must be non-empty`);
    });
    return { kind: 'tokens', tokens: s as string[] } as const;
  });
}

/**
 * One model call for a micro-batch: texts and pre-tokenised sentences go to their predictor methods. Each
 * result comes back as its JSON text (from the worker when the predictor runs in one; see api-json.ts).
 */
async function runItems(predictor: Predictor, items: Item[]): Promise<string[]> {
  const out = new Array<string>(items.length);
  const textIdx: number[] = [];
  const tokIdx: number[] = [];
  items.forEach((it, i) => {
    if (it.kind === 'text') {
      if (it.text.trim() === '') out[i] = EMPTY_RESULT_JSON;
      else textIdx.push(i);
    } else if (it.tokens.length === 0) out[i] = EMPTY_RESULT_JSON;
    else tokIdx.push(i);
  });
  const json = async (kind: 'texts' | 'sentences', list: unknown[]): Promise<string[]> => {
    if (predictor.predictJson) return predictor.predictJson(kind, list);
    return toApiJson(
      kind === 'texts'
        ? await predictor.predictTexts(list as string[])
        : await predictor.predictSentences(list as string[][]),
    );
  };
  if (textIdx.length > 0) {
    const got = await json(
      'texts',
      textIdx.map((i) => (items[i] as { text: string }).text),
    );
    textIdx.forEach((i, k) => (out[i] = got[k]!));
  }
  if (tokIdx.length > 0) {
    const got = await json(
      'sentences',
      tokIdx.map((i) => (items[i] as { tokens: string[] }).tokens),
    );
    tokIdx.forEach((i, k) => (out[i] = got[k]!));
  }
  return out;
}

export interface ServeApp {
  app: FastifyInstance;
  batcher: MicroBatcher<Item, string>;
}

function retryAfter(reply: { header(k: string, v: string): unknown }, seconds: number): void {
  reply.header('retry-after', String(Math.max(1, Math.round(seconds))));
}

export async function buildServeApp(options: ServeOptions): Promise<ServeApp> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const batching: BatcherOptions = { ...DEFAULT_BATCHING, ...options.batching };
  const host = options.host ?? '127.0.0.1';
  const { predictor } = options;
  // requestTimeout bounds a slow upload; the answer's own deadline is limits.requestTimeoutMs
  const app = Fastify({ bodyLimit: limits.bodyLimit, logger: false, requestTimeout: 60_000, return503OnClosing: true });
  setupHttp(app, { host, token: options.token });
  const batcher = new MicroBatcher<Item, string>((items) => runItems(predictor, items), batching);
  const started = Date.now();

  /** saturated: the queue is nearly full, or the oldest request has used half its deadline */
  const saturation = (st: ReturnType<typeof batcher.stats>): string | undefined => {
    if (st.queuedTokens >= 0.9 * batching.maxQueueTokens)
      return `queue ${st.queuedTokens} of ${batching.maxQueueTokens} tokens`;
    if (st.oldestQueuedMs > limits.requestTimeoutMs / 2) return `oldest request waiting ${st.oldestQueuedMs} ms`;
    return undefined;
  };
  app.get('/health', async (_request, reply) => {
    const failure = predictor.failure?.();
    const st = batcher.stats();
    const saturated = failure ? undefined : saturation(st);
    if (failure || saturated) void reply.code(503);
    if (saturated) retryAfter(reply, batcher.retryAfterS());
    return {
      status: failure ? 'error' : saturated ? 'degraded' : 'ok',
      ...(failure ? { error: failure } : {}),
      ...(saturated ? { reason: saturated } : {}),
      uptimeS: Math.round((Date.now() - started) / 1000),
      queue: {
        requests: st.activeRequests,
        items: st.queued,
        tokens: st.queuedTokens,
        limitTokens: batching.maxQueueTokens,
        oldestMs: st.oldestQueuedMs,
        running: st.running,
      },
      workers: options.workers?.() ?? null,
      model: predictor.info,
      types: predictor.types,
      limits,
      batching: { ...batching, ...st },
    };
  });
  app.get('/stats', async () => batcher.stats());
  // refuse from the headers alone a body that cannot fit, before the HTTP thread reads and parses it: a
  // body of B bytes holds at least B/24 estimated tokens (B/6 characters if every one were a \uXXXX escape)
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST' || request.url.split('?')[0] !== '/predict') return;
    const bytes = Number(request.headers['content-length'] ?? 0);
    if (bytes > 0 && !batcher.admits(Math.floor(bytes / 24))) {
      retryAfter(reply, batcher.retryAfterS());
      void reply.header('connection', 'close');
      throw new HttpError(
        503,
        'busy',
        `server busy: ${batcher.stats().queuedTokens} tokens of work already queued, a ${bytes}-byte body adds at least ${Math.floor(bytes / 24)}; retry shortly`,
      );
    }
  });
  app.post('/predict', async (request, reply) => {
    const items = parsePredictBody(request.body, limits);
    const costs = items.map(estimateTokens);
    // a client that goes away before its answer cancels its queued work
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    const t0 = performance.now();
    try {
      const results = await batcher.submit(items, { costs, deadlineMs: limits.requestTimeoutMs, signal: gone.signal });
      void reply.header('server-timing', `queue-and-model;dur=${(performance.now() - t0).toFixed(1)}`);
      // each result is already JSON text: join, do not parse and serialise again
      return reply.type('application/json; charset=utf-8').send(`{"results":[${results.join(',')}]}`);
    } catch (err) {
      if (err instanceof BusyError) {
        retryAfter(reply, err.retryAfterS);
        throw new HttpError(503, 'busy', err.message);
      }
      if (err instanceof DeadlineError) {
        retryAfter(reply, batcher.retryAfterS());
        throw new HttpError(503, 'deadline_exceeded', err.message);
      }
      if (err instanceof ShutdownError) {
        void reply.header('connection', 'close');
        throw new HttpError(503, 'shutting_down', err.message);
      }
      if (err instanceof CancelledError) throw new HttpError(503, 'cancelled', err.message);
      throw new HttpError(500, 'model_failed', `the model failed on this request: ${(err as Error).message}; retry`);
    }
  });
  return { app, batcher };
}

export interface RunningServer extends ServeApp {
  url: string;
  /**
   * Stops listening, lets queued work finish for up to `drainTimeoutMs` (default: no limit), answers
   * what is left 503, then closes the model. Resolves true when everything queued was answered in time.
   */
  close(drainTimeoutMs?: number): Promise<boolean>;
}

/** builds the app and listens; `port: 0` picks a free port (see `url`) */
export async function startServeServer(options: ServeOptions): Promise<RunningServer> {
  const built = await buildServeApp(options);
  const host = options.host ?? '127.0.0.1';
  await built.app.listen({ host, port: options.port ?? 8080 });
  const addr = built.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    ...built,
    url: `http://${shown}:${port}`,
    close: async (drainTimeoutMs = Infinity) => {
      const drained = built.batcher.close(drainTimeoutMs);
      await built.app.close();
      const ok = await drained;
      await options.predictor.close?.();
      return ok;
    },
  };
}
