/**
 * The provider a user's settings name: `gguf` (an embedded llama.cpp model) or `baseUrl` + `model` (any
 * OpenAI-compatible server; the key comes from NERD_API_KEY or OPENAI_API_KEY). Used by `nerd annotate`
 * and by the distillation stage.
 */
import { InputError } from '../../errors.js';
import { OpenAIProvider } from './openai.js';
import type { ChatProvider } from './types.js';

export interface ProviderSettings {
  baseUrl?: string;
  model?: string;
  gguf?: string;
  /** ask for JSON-schema structured output (default true) */
  structured?: boolean;
  /** per-request timeout (default 120 s) */
  timeoutMs?: number;
  /** with gguf: llama.cpp's CPU threads */
  threads?: number;
}

export async function createProvider(s: ProviderSettings): Promise<ChatProvider> {
  if (s.gguf && s.baseUrl)
    throw new InputError(
      'give either --base-url (an OpenAI-compatible server) or --gguf (a local model file), not both',
    );
  const structured = s.structured ?? true;
  const timeoutMs = s.timeoutMs ?? 120_000;
  if (s.gguf) {
    // loaded only when asked for: node-llama-cpp's native code is heavy
    const { LlamaCppProvider } = await import('./llamacpp.js');
    return LlamaCppProvider.create({
      modelPath: s.gguf,
      ...(s.model ? { model: s.model } : {}),
      structuredOutput: structured,
      timeoutMs,
      ...(s.threads !== undefined ? { threads: s.threads } : {}),
    });
  }
  if (!s.model) throw new InputError('--model is required with --base-url (the model name the server expects)');
  return new OpenAIProvider({
    ...(s.baseUrl ? { baseURL: s.baseUrl } : {}),
    model: s.model,
    structuredOutput: structured,
    timeoutMs,
  });
}
