/**
 * What the annotation job needs from an LLM, whatever serves it (an OpenAI-compatible endpoint, an embedded
 * GGUF model through node-llama-cpp, or `nerd teacher-sim`).
 */

/** Model names of `nerd teacher-sim` start with this; the annotation job says so whenever it sees one. */
export const SIM_MODEL_PREFIX = 'SIMULATED-teacher';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  temperature: number;
  maxTokens: number;
  /** JSON schema of the final answer; providers that support structured output enforce it */
  jsonSchema?: Record<string, unknown>;
  seed?: number;
  /** per-request timeout; the provider aborts and throws a retryable ProviderError past it */
  timeoutMs?: number;
}

export interface Usage {
  promptTokens: number;
  /** billed completion tokens, reasoning tokens included (see OpenAIProvider: reasoning tokens) */
  completionTokens: number;
  /** of which hidden reasoning ("thinking") tokens, when the server reports them */
  reasoningTokens?: number;
  /** true when the server reported no usage and the numbers are an estimate (characters / 4) */
  estimated?: boolean;
}

export interface ChatResponse {
  text: string;
  /** 'length' means the answer was cut off: the caller must treat it as a failure, not an answer */
  finishReason: 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other';
  usage: Usage;
  model: string;
  /** true when the answer was produced under structured output (JSON schema enforced by the server/grammar) */
  structured?: boolean;
}

/**
 * What an endpoint + model was found to accept, learnt from its 400 answers (providers/adapt.ts) and
 * remembered in the cache database so that later runs start right.
 */
export interface EndpointQuirks {
  /** the parameter that carries the completion-token limit */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** request parameters the endpoint refused: never sent again (temperature, seed, top_p, response_format, ...) */
  drop?: string[];
  /** the endpoint answers only streamed (`stream: true`, SSE) requests */
  stream?: boolean;
  /** a reasoning model: its hidden reasoning tokens need a larger completion budget */
  reasoning?: boolean;
}

export interface ChatProvider {
  /** e.g. "openai", "llama-cpp" */
  readonly kind: string;
  /** model name as used in cache keys and reports */
  readonly model: string;
  /** the address + model requests go to, naming the remembered quirks (providers that adapt to refusals) */
  readonly endpoint?: string;
  /** what the endpoint accepts; set it before the first request to start right (providers that adapt) */
  quirks?: EndpointQuirks;
  /** called after the provider adapted to a refusal (the request was retried at once, unpaid) */
  onAdapt?: (quirks: EndpointQuirks, note: string) => void;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
  close?(): Promise<void>;
}

/** What kind of failure a ProviderError is, for counting and reporting. */
export type ProviderErrorCode =
  | 'rate_limit' // 429
  | 'server' // 5xx
  | 'timeout' // our per-request timeout (or 408)
  | 'connection' // reset, hang-up ... (transient)
  | 'unreachable' // connection refused, DNS or TLS failure: the address is wrong or the server is down
  | 'not_found' // 404: wrong path or unknown model
  | 'bad_response' // a body over the size limit
  | 'auth' // 401/403
  | 'bad_request' // other 4xx
  | 'aborted' // the caller's AbortSignal fired: not retryable
  | 'model' // the local model failed to load or run
  | 'other';

/** A failed call. `retryable` errors (429, 5xx, timeouts, resets) are retried with back-off. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** from a Retry-After header: wait at least this long before retrying */
    readonly retryAfterMs?: number,
    /** the kind of failure (absent on errors made by older code) */
    readonly code?: ProviderErrorCode,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
