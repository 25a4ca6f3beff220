/**
 * An OpenAI-compatible chat-completions provider through the official `openai` SDK. Works with OpenAI,
 * Azure-style gateways (extra headers / query), vLLM, Ollama, llama.cpp's server and `nerd teacher-sim`.
 *
 * - Key: `apiKey` option, else NERD_API_KEY, else OPENAI_API_KEY. It is never logged and is scrubbed from
 *   every error message (servers echo keys back on 401).
 * - Structured output: `response_format: {type: 'json_schema'}` when the request carries a schema and
 *   `structuredOutput` is on. A server that rejects it (400/422) gets the same request again as plain text,
 *   and this provider instance remembers not to ask again.
 * - The SDK's own retries are off (maxRetries: 0): the annotation job owns retries so it can count them
 *   and honour budgets. Errors become ProviderError: 429, 5xx, 408, 409, timeouts and connection failures are
 *   retryable (with `retryAfterMs` from Retry-After / retry-after-ms); other 4xx are not.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { parseRetryAfterMs } from './retry-after.js';
import { apiKeyFromEnv, scrubSecrets } from './secrets.js';
import {
  ProviderError,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type ProviderErrorCode,
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
  /** which parameter carries the token limit; newer OpenAI models want max_completion_tokens */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
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

export class OpenAIProvider implements ChatProvider {
  readonly kind = 'openai';
  readonly model: string;
  readonly baseURL: string;
  private readonly client: OpenAI;
  private readonly secrets: string[];
  private readonly defaultTimeoutMs: number;
  /** becomes false when the server rejected response_format once */
  private structuredOutput: boolean;
  private maxTokensParam: 'max_tokens' | 'max_completion_tokens';

  constructor(options: OpenAIProviderOptions) {
    if (!options.model) throw new Error('OpenAIProvider: a model name is required');
    this.model = options.model;
    const apiKey = options.apiKey ?? apiKeyFromEnv();
    this.secrets = [apiKey, ...Object.values(options.defaultHeaders ?? {})].filter(
      (s): s is string => typeof s === 'string' && s.length >= 4,
    );
    this.structuredOutput = options.structuredOutput ?? true;
    this.maxTokensParam = options.maxTokensParam ?? 'max_tokens';
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.client = new OpenAI({
      apiKey: apiKey ?? NO_KEY,
      baseURL: options.baseURL,
      maxRetries: 0,
      timeout: this.defaultTimeoutMs,
      defaultHeaders: options.defaultHeaders,
      defaultQuery: options.defaultQuery,
      fetch: options.fetch,
    });
    this.baseURL = this.client.baseURL;
  }

  /** whether the next request with a schema will ask for structured output */
  get usesStructuredOutput(): boolean {
    return this.structuredOutput;
  }

  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const structured = this.structuredOutput && request.jsonSchema !== undefined;
    try {
      return await this.send(request, structured, signal);
    } catch (err) {
      if (signal?.aborted) throw this.toProviderError(err, request, signal);
      // Fallbacks that a server's 400/422 can ask for; each is remembered for this provider instance.
      if (err instanceof APIError && (err.status === 400 || err.status === 422)) {
        const text = `${err.message} ${JSON.stringify(err.error ?? '')}`;
        if (this.maxTokensParam === 'max_tokens' && /max_completion_tokens/.test(text)) {
          this.maxTokensParam = 'max_completion_tokens';
          return this.complete(request, signal);
        }
        if (structured) {
          // Servers word this differently ("response_format is not supported", "unknown field json_schema",
          // a bare 400): any 400/422 under structured output gets one plain-text try.
          let plain: ChatResponse;
          try {
            plain = await this.send(request, false, signal);
          } catch (retryErr) {
            throw this.toProviderError(retryErr, request, signal);
          }
          this.structuredOutput = false;
          return plain;
        }
      }
      throw this.toProviderError(err, request, signal);
    }
  }

  private async send(request: ChatRequest, structured: boolean, signal?: AbortSignal): Promise<ChatResponse> {
    const params: ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      temperature: request.temperature,
    };
    if (this.maxTokensParam === 'max_tokens') params.max_tokens = request.maxTokens;
    else params.max_completion_tokens = request.maxTokens;
    if (request.seed !== undefined) params.seed = request.seed;
    if (structured && request.jsonSchema) {
      params.response_format = {
        type: 'json_schema',
        // strict mode (OpenAI) only where the schema allows it; other servers ignore the flag
        json_schema: { name: 'ner_answer', schema: request.jsonSchema, strict: isStrictCompatible(request.jsonSchema) },
      };
    }
    const completion: ChatCompletion = await this.client.chat.completions.create(params, {
      timeout: request.timeoutMs ?? this.defaultTimeoutMs,
      signal,
      maxRetries: 0,
    });
    return this.toResponse(completion, request, structured);
  }

  private toResponse(completion: ChatCompletion, request: ChatRequest, structured: boolean): ChatResponse {
    const choice = completion.choices?.[0];
    if (!choice) {
      throw new ProviderError(`${this.where()}: the response has no choices`, true, undefined, undefined, 'server');
    }
    const text = choice.message?.content ?? '';
    // a refusal comes with no content: report it as filtered, so the job counts it as a failure
    const refused = !text && typeof choice.message?.refusal === 'string' && choice.message.refusal !== '';
    const usage = completion.usage;
    const estimated = !usage;
    const promptChars = request.messages.reduce((n, m) => n + m.content.length, 0);
    return {
      text,
      finishReason: refused ? 'content_filter' : mapFinishReason(choice.finish_reason),
      usage: usage
        ? { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 }
        : { promptTokens: Math.ceil(promptChars / 4), completionTokens: Math.ceil(text.length / 4), estimated },
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
    const make = (message: string, retryable: boolean, code: ProviderErrorCode, status?: number, retryAfterMs?: number) =>
      new ProviderError(scrub(`${this.where()}: ${message}`), retryable, status, retryAfterMs, code);

    if (err instanceof APIUserAbortError || (signal?.aborted && !(err instanceof APIConnectionTimeoutError))) {
      return make('request aborted by the caller', false, 'aborted');
    }
    if (err instanceof APIConnectionTimeoutError) {
      return make(`no answer within ${request.timeoutMs ?? this.defaultTimeoutMs} ms (timeout)`, true, 'timeout');
    }
    if (err instanceof APIConnectionError) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
      return make(`connection failed (${err.message}${cause})`, true, 'connection');
    }
    if (err instanceof APIError) {
      const status = err.status;
      const retryAfterMs = parseRetryAfterMs(err.headers ?? undefined);
      const msg = err.message || `HTTP ${status}`;
      if (status === 429) return make(`rate limited: ${msg}`, true, 'rate_limit', status, retryAfterMs);
      if (status === 408) return make(`request timeout: ${msg}`, true, 'timeout', status, retryAfterMs);
      if (status === 409) return make(`conflict: ${msg}`, true, 'other', status, retryAfterMs);
      if (status !== undefined && status >= 500) return make(`server error: ${msg}`, true, 'server', status, retryAfterMs);
      if (status === 401 || status === 403) {
        return make(`not authorised (check NERD_API_KEY / OPENAI_API_KEY): ${msg}`, false, 'auth', status);
      }
      if (status !== undefined) return make(`request rejected: ${msg}`, false, 'bad_request', status);
      return make(msg, true, 'connection');
    }
    if (err instanceof Error) {
      // e.g. a body that is not JSON from a misbehaving proxy: worth another try
      const transient = /ECONNRESET|socket hang up|ETIMEDOUT|EPIPE|terminated|fetch failed/i.test(err.message);
      return make(err.message, transient, transient ? 'connection' : 'other');
    }
    return make(String(err), false, 'other');
  }
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
      return 'stop';
    case 'length':
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
