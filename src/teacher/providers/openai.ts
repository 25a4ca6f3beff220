/**
 * An OpenAI-compatible chat-completions provider through the official `openai` SDK. Works with OpenAI,
 * Azure-style gateways (extra headers / query), Gemini's OpenAI-compatible endpoint, vLLM, Ollama,
 * llama.cpp's server, TGI, LocalAI and `nerd teacher-sim`.
 *
 * - Key: `apiKey` option, else NERD_API_KEY, else OPENAI_API_KEY. It is never logged and is scrubbed from
 *   every error message (servers echo keys back on 401).
 * - Capability adaptation (adapt.ts): a 400/422 that names a parameter — `max_tokens` (→
 *   `max_completion_tokens`), `temperature`, `seed`, `top_p`, `response_format` — or says the endpoint
 *   streams only, changes the request and sends it again at once (a refused request is not paid for).
 *   What was learnt is in `quirks` (the job stores it in its cache database) and reported via `onAdapt`.
 * - Structured output: `response_format: {type: 'json_schema'}` when the request carries a schema and
 *   `structuredOutput` is on; a server that refuses it gets plain text from then on.
 * - Reasoning models: usage's `completion_tokens_details.reasoning_tokens` is reported; completion tokens
 *   count them (OpenAI already includes them in `completion_tokens`; a server whose `total_tokens` shows
 *   they were left out gets them added), and the token limit sent is the request's plus `reasoningBudget`.
 * - Finish reasons: `stop` and the end-of-sequence spellings of other servers (`eos`, `eos_token`, `end`,
 *   `end_turn`, `stop_sequence`) are `stop`; `length`/`max_tokens` is `length`; missing or unknown is
 *   `other` (the job takes it when the answer's JSON is complete).
 * - Bounded replies: a body over `maxResponseBytes` is refused while it streams in (http.ts); a body that
 *   is not JSON where JSON was promised (an HTML error page from a proxy) is a transient server error.
 * - The SDK's own retries are off (maxRetries: 0): the annotation job owns retries so it can count them
 *   and honour budgets. Errors become ProviderError: 429, 5xx, 408, 409, timeouts and connection resets are
 *   retryable (with `retryAfterMs` from Retry-After / retry-after-ms); connection refused, DNS and TLS
 *   failures are `unreachable`, a 404 `not_found` (the job stops on those); other 4xx are not retryable.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { adapt } from './adapt.js';
import { BodyTooLargeError, causeChain, DEFAULT_MAX_RESPONSE_BYTES, limitedFetch, unreachableCause } from './http.js';
import { parseRetryAfterMs } from './retry-after.js';
import { apiKeyFromEnv, scrubSecrets } from './secrets.js';
import {
  ProviderError,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type EndpointQuirks,
  type ProviderErrorCode,
  type Usage,
} from './types.js';

export interface OpenAIProviderOptions {
  /** e.g. https://api.openai.com/v1, http://127.0.0.1:8080/v1 (default: the SDK's, i.e. OpenAI) */
  baseURL?: string;
  model: string;
  /** default: NERD_API_KEY, else OPENAI_API_KEY; local servers need none */
  apiKey?: string;
  /** ask for JSON-schema structured output when a request has a schema (default true) */
  structuredOutput?: boolean;
  /** default per-request timeout when the request names none (default 120 s) */
  timeoutMs?: number;
  /** which parameter carries the token limit to start with (default max_tokens; adapted on refusal) */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** what the endpoint is known to accept (e.g. remembered from an earlier run) */
  quirks?: EndpointQuirks;
  /** completion tokens added to a reasoning model's limit for its hidden reasoning (default 8192) */
  reasoningBudget?: number;
  /** the largest reply body read (default 4 MiB) */
  maxResponseBytes?: number;
  /** extra headers, e.g. Azure's `api-key` or a gateway's routing header */
  defaultHeaders?: Record<string, string>;
  /** extra query parameters, e.g. Azure's `api-version` */
  defaultQuery?: Record<string, string>;
  /** for tests: a fetch implementation */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** placeholder sent to servers that need no key (the SDK insists on one) */
const NO_KEY = 'no-key';
/** refusals adapted to within one call before the error stands (each changes the request) */
const MAX_ADAPTATIONS = 8;
/** model names that are reasoning models on OpenAI (o1, o3, o4-mini, gpt-5...) */
const REASONING_MODEL = /(^|\/)(o\d|gpt-5)/;

export class OpenAIProvider implements ChatProvider {
  readonly kind = 'openai';
  readonly model: string;
  readonly baseURL: string;
  readonly endpoint: string;
  quirks: EndpointQuirks;
  onAdapt?: (quirks: EndpointQuirks, note: string) => void;
  private readonly client: OpenAI;
  private readonly secrets: string[];
  private readonly defaultTimeoutMs: number;
  private readonly reasoningBudget: number;

  constructor(options: OpenAIProviderOptions) {
    if (!options.model) throw new Error('OpenAIProvider: a model name is required');
    this.model = options.model;
    const apiKey = options.apiKey ?? apiKeyFromEnv();
    this.secrets = [apiKey, ...Object.values(options.defaultHeaders ?? {})].filter(
      (s): s is string => typeof s === 'string' && s.length >= 4,
    );
    this.quirks = {
      ...(options.maxTokensParam ? { maxTokensParam: options.maxTokensParam } : {}),
      ...(options.structuredOutput === false ? { drop: ['response_format'] } : {}),
      ...(REASONING_MODEL.test(options.model) ? { reasoning: true } : {}),
      ...options.quirks,
    };
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.reasoningBudget = options.reasoningBudget ?? 8192;
    this.client = new OpenAI({
      apiKey: apiKey ?? NO_KEY,
      baseURL: options.baseURL,
      maxRetries: 0,
      timeout: this.defaultTimeoutMs,
      defaultHeaders: options.defaultHeaders,
      defaultQuery: options.defaultQuery,
      fetch: limitedFetch(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, options.fetch),
    });
    this.baseURL = this.client.baseURL;
    this.endpoint = `${scrubSecrets(this.baseURL, this.secrets)}#${this.model}`;
  }

  /** whether the next request with a schema will ask for structured output */
  get usesStructuredOutput(): boolean {
    return !(this.quirks.drop ?? []).includes('response_format');
  }

  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    for (let n = 0; ; n++) {
      const used = this.quirks;
      const params = this.params(request);
      try {
        return params.stream
          ? await this.sendStreaming(params, request, signal)
          : await this.send(params, request, signal);
      } catch (err) {
        if (signal?.aborted || n >= MAX_ADAPTATIONS || !(err instanceof APIError) || err.status === undefined) {
          throw this.toProviderError(err, request, signal);
        }
        // another request in flight adapted meanwhile: try again as things now stand
        if (this.quirks !== used && (err.status === 400 || err.status === 422)) continue;
        const change = adapt(
          { status: err.status, param: err.param, text: `${err.message} ${JSON.stringify(err.error ?? '')}` },
          params,
          this.quirks,
        );
        if (!change) throw this.toProviderError(err, request, signal);
        this.quirks = change.quirks;
        this.onAdapt?.(this.quirks, change.note);
      }
    }
  }

  /** the request body under what the endpoint is known to accept */
  private params(request: ChatRequest): Record<string, unknown> {
    const q = this.quirks;
    const drop = new Set(q.drop ?? []);
    const limit = request.maxTokens + (q.reasoning ? this.reasoningBudget : 0);
    const p: Record<string, unknown> = {
      model: this.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      [q.maxTokensParam ?? 'max_tokens']: limit,
    };
    if (!drop.has('temperature')) p.temperature = request.temperature;
    if (request.seed !== undefined && !drop.has('seed')) p.seed = request.seed;
    if (request.jsonSchema && !drop.has('response_format')) {
      p.response_format = {
        type: 'json_schema',
        // strict mode (OpenAI) only where the schema allows it; other servers ignore the flag
        json_schema: { name: 'ner_answer', schema: request.jsonSchema, strict: isStrictCompatible(request.jsonSchema) },
      };
    }
    if (q.stream) {
      p.stream = true;
      if (!drop.has('stream_options')) p.stream_options = { include_usage: true };
    }
    return p;
  }

  private options(request: ChatRequest, signal?: AbortSignal) {
    return { timeout: request.timeoutMs ?? this.defaultTimeoutMs, signal, maxRetries: 0 } as const;
  }

  private async send(
    params: Record<string, unknown>,
    request: ChatRequest,
    signal?: AbortSignal,
  ): Promise<ChatResponse> {
    const completion = (await this.client.chat.completions.create(
      params as never,
      this.options(request, signal),
    )) as unknown;
    if (typeof completion !== 'object' || completion === null) {
      // the SDK hands back the text of a body that was not JSON (an HTML page from a proxy, say)
      throw new ProviderError(
        `${this.where()}: the server sent a reply that is not JSON (${describeBody(completion)})`,
        true,
        undefined,
        undefined,
        'server',
      );
    }
    return this.toResponse(completion as ChatCompletion, request, params.response_format !== undefined);
  }

  private async sendStreaming(
    params: Record<string, unknown>,
    request: ChatRequest,
    signal?: AbortSignal,
  ): Promise<ChatResponse> {
    const stream = (await this.client.chat.completions.create(
      params as never,
      this.options(request, signal),
    )) as unknown as AsyncIterable<ChatCompletionChunk>;
    let text = '';
    let finish: string | null | undefined;
    let usage: ChatCompletion['usage'] | undefined;
    let model = '';
    let refusal = '';
    for await (const chunk of stream) {
      model ||= chunk.model ?? '';
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      text += choice.delta?.content ?? '';
      refusal += choice.delta?.refusal ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    const completion = {
      model,
      usage,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: refusal || null },
          finish_reason: finish ?? null,
          logprobs: null,
        },
      ],
    } as unknown as ChatCompletion;
    return this.toResponse(completion, request, params.response_format !== undefined);
  }

  private toResponse(completion: ChatCompletion, request: ChatRequest, structured: boolean): ChatResponse {
    const choice = completion.choices?.[0];
    if (!choice) {
      throw new ProviderError(`${this.where()}: the response has no choices`, true, undefined, undefined, 'server');
    }
    const text = choice.message?.content ?? '';
    // a refusal comes with no content: report it as filtered, so the job counts it as a failure
    const refused = !text && typeof choice.message?.refusal === 'string' && choice.message.refusal !== '';
    const promptChars = request.messages.reduce((n, m) => n + m.content.length, 0);
    const usage = completion.usage
      ? readUsage(completion.usage)
      : { promptTokens: Math.ceil(promptChars / 4), completionTokens: Math.ceil(text.length / 4), estimated: true };
    if (usage.reasoningTokens && !this.quirks.reasoning) {
      this.quirks = { ...this.quirks, reasoning: true };
      this.onAdapt?.(this.quirks, 'reasoning model (the answer reported reasoning tokens)');
    }
    return {
      text,
      finishReason: refused ? 'content_filter' : mapFinishReason(choice.finish_reason),
      usage,
      model: completion.model || this.model,
      structured,
    };
  }

  private where(): string {
    return `${scrubSecrets(this.baseURL, this.secrets)} (model ${this.model})`;
  }

  /** Maps anything the SDK throws to a ProviderError whose message holds no secret. */
  toProviderError(err: unknown, request: ChatRequest, signal?: AbortSignal): ProviderError {
    if (err instanceof ProviderError) return err;
    const scrub = (s: string) => scrubSecrets(s, this.secrets);
    const make = (
      message: string,
      retryable: boolean,
      code: ProviderErrorCode,
      status?: number,
      retryAfterMs?: number,
    ) => new ProviderError(scrub(`${this.where()}: ${message}`), retryable, status, retryAfterMs, code);

    if (err instanceof APIUserAbortError || (signal?.aborted && !(err instanceof APIConnectionTimeoutError))) {
      return make('request aborted by the caller', false, 'aborted');
    }
    const tooLarge = causeChain(err).find((e): e is BodyTooLargeError => e instanceof BodyTooLargeError);
    if (tooLarge) return make(tooLarge.message, false, 'bad_response');
    if (err instanceof APIConnectionTimeoutError) {
      return make(`no answer within ${request.timeoutMs ?? this.defaultTimeoutMs} ms (timeout)`, true, 'timeout');
    }
    if (err instanceof APIConnectionError) {
      const unreachable = unreachableCause(err);
      if (unreachable) return make(`cannot connect: ${unreachable}`, true, 'unreachable');
      // the innermost cause says what happened ("fetch failed" says nothing)
      const inner = causeChain(err)
        .filter((e): e is Error => e instanceof Error && e !== err)
        .at(-1);
      const cause = inner ? `: ${inner.message}` : '';
      return make(`connection failed (${err.message}${cause})`, true, 'connection');
    }
    if (err instanceof APIError) {
      const status = err.status;
      const retryAfterMs = parseRetryAfterMs(err.headers ?? undefined);
      const msg = err.message || `HTTP ${status}`;
      if (status === 429) return make(`rate limited: ${msg}`, true, 'rate_limit', status, retryAfterMs);
      if (status === 408) return make(`request timeout: ${msg}`, true, 'timeout', status, retryAfterMs);
      if (status === 409) return make(`conflict: ${msg}`, true, 'other', status, retryAfterMs);
      if (status !== undefined && status >= 500)
        return make(`server error: ${msg}`, true, 'server', status, retryAfterMs);
      if (status === 401 || status === 403) {
        return make(`not authorised (check NERD_API_KEY / OPENAI_API_KEY): ${msg}`, false, 'auth', status);
      }
      if (status === 404)
        return make(
          `not found (a wrong --base-url path, or no model "${this.model}" there): ${msg}`,
          false,
          'not_found',
          status,
        );
      if (status !== undefined) return make(`request rejected: ${msg}`, false, 'bad_request', status);
      return make(msg, true, 'connection');
    }
    if (err instanceof SyntaxError) {
      // a body sent as application/json that is not JSON (an HTML error page from a proxy): transient
      return make(`the server sent a body that is not JSON (${err.message.slice(0, 80)})`, true, 'server');
    }
    if (err instanceof Error) {
      const transient = /ECONNRESET|socket hang up|ETIMEDOUT|EPIPE|terminated|fetch failed/i.test(err.message);
      return make(err.message, transient, transient ? 'connection' : 'other');
    }
    return make(String(err), false, 'other');
  }
}

/** the first characters of a body that was not JSON, on one line */
function describeBody(body: unknown): string {
  const s = typeof body === 'string' ? body : String(body);
  return `${s.replace(/\s+/g, ' ').trim().slice(0, 60) || 'empty body'}${s.length > 60 ? '…' : ''}`;
}

/**
 * Token usage as billed. OpenAI counts reasoning tokens inside `completion_tokens` (and reports them in
 * `completion_tokens_details.reasoning_tokens`); a server whose `total_tokens` exceeds prompt + completion
 * by the reasoning tokens left them out, and they are added (they are billed as output either way).
 */
export function readUsage(u: NonNullable<ChatCompletion['usage']>): Usage {
  const promptTokens = u.prompt_tokens ?? 0;
  let completionTokens = u.completion_tokens ?? 0;
  const reasoning = u.completion_tokens_details?.reasoning_tokens ?? 0;
  if (
    reasoning > 0 &&
    typeof u.total_tokens === 'number' &&
    u.total_tokens >= promptTokens + completionTokens + reasoning
  ) {
    completionTokens += reasoning;
  }
  return { promptTokens, completionTokens, ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}) };
}

/**
 * Whether OpenAI's strict structured-output mode accepts `schema`: every object lists all its properties
 * as required and forbids additional ones (the rules of strict mode that a schema most often breaks).
 */
export function isStrictCompatible(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictCompatible);
  if (!schema || typeof schema !== 'object') return true;
  const node = schema as Record<string, unknown>;
  const props = node.properties as Record<string, unknown> | undefined;
  if (props && typeof props === 'object') {
    const required = Array.isArray(node.required) ? (node.required as string[]) : [];
    if (node.additionalProperties !== false) return false;
    if (!Object.keys(props).every((k) => required.includes(k))) return false;
  }
  return Object.values(node).every((v) => (v && typeof v === 'object' ? isStrictCompatible(v) : true));
}

export function mapFinishReason(reason: string | null | undefined): ChatResponse['finishReason'] {
  switch (reason) {
    case 'stop':
    case 'eos':
    case 'eos_token':
    case 'end':
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    default:
      return 'other';
  }
}
