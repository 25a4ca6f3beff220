/**
 * What the annotation job needs from an LLM, whatever serves it (an OpenAI-compatible endpoint, an embedded
 * GGUF model through node-llama-cpp, or `nerd teacher-sim`).
 */

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
}

export interface ChatResponse {
  text: string;
  /** 'length' means the answer was cut off: the caller must treat it as a failure, not an answer */
  finishReason: 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other';
  usage: Usage;
  model: string;
}

export interface ChatProvider {
  /** e.g. "openai", "llama-cpp" */
  readonly kind: string;
  /** model name as used in cache keys and reports */
  readonly model: string;
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
  close?(): Promise<void>;
}

/** A failed call. `retryable` errors (429, 5xx, timeouts, resets) are retried with back-off. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** from a Retry-After header: wait at least this long before retrying */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
