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
  completionTokens: number;
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

export interface ChatProvider {
  /** e.g. "openai", "llama-cpp" */
  readonly kind: string;
  /** model name as used in cache keys and reports */
  readonly model: string;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
  close?(): Promise<void>;
}

/** What kind of failure a ProviderError is, for counting and reporting. */
export type ProviderErrorCode =
  | 'rate_limit' // 429
  | 'server' // 5xx
  | 'timeout' // our per-request timeout (or 408)
  | 'connection' // refused, reset, DNS ...
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
