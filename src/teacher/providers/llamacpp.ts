/**
 * An embedded local teacher: a GGUF model run in-process through node-llama-cpp (3.21.1), for closed
 * networks. The request's JSON schema becomes a grammar (`llama.createGrammarForJsonSchema`), so every
 * answer is valid JSON of that shape, with the reasoning in the schema's "reasoning" field.
 *
 * - Messages are rendered with the model's own chat template (node-llama-cpp picks the chat wrapper from
 *   the GGUF metadata), system + earlier turns as history, the last user message as the prompt.
 * - A prompt that does not fit the context (prompt tokens + maxTokens > context size) is refused with a
 *   clear error instead of being silently shifted out of the context.
 * - Usage is counted in the model's tokens (the context sequence's token meter); hitting maxTokens gives
 *   finish_reason 'length'.
 * - Requests run on a pool of `parallel` context sequences (default 1); more wait their turn.
 * - `threads`: llama.cpp's CPU threads, by default all cores but one. On a loaded machine, spinning threads
 *   can slow generation down by orders of magnitude: set it to the cores you can spare.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel } from 'node-llama-cpp';
import { InputError } from '../../errors.js';
import {
  ProviderError,
  type ChatProvider,
  type ChatRequest,
  type ChatResponse,
  type ProviderErrorCode,
} from './types.js';

export interface LlamaCppProviderOptions {
  /** path of the GGUF file */
  modelPath: string;
  /** name in cache keys and reports (default: the file name) */
  model?: string;
  /** context size in tokens (default: min(model's training context, 8192)) */
  contextSize?: number;
  /** CPU threads for llama.cpp (default: all cores but one, at least 1) */
  threads?: number;
  /** context sequences that answer in parallel (default 1) */
  parallel?: number;
  /** layers offloaded to a GPU where one exists (default: none, CPU only) */
  gpuLayers?: number;
  /** default per-request timeout when the request names none (default: none) */
  timeoutMs?: number;
  /** enforce the request's JSON schema with a grammar (default true); false: free text, like a plain API */
  structuredOutput?: boolean;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  free: LlamaContextSequence[];
  waiters: Array<(seq: LlamaContextSequence) => void>;
}

const DEFAULT_CONTEXT = 8192;

export class LlamaCppProvider implements ChatProvider {
  readonly kind = 'llama-cpp';
  readonly model: string;
  readonly modelPath: string;
  private loading?: Promise<Loaded>;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly options: LlamaCppProviderOptions) {
    this.modelPath = path.resolve(options.modelPath);
    if (!existsSync(this.modelPath)) {
      throw new InputError('GGUF model file not found (give the path of a .gguf file)', options.modelPath);
    }
    this.model = options.model ?? path.basename(this.modelPath);
  }

  private fail(message: string, retryable: boolean, code: ProviderErrorCode): ProviderError {
    return new ProviderError(`llama.cpp ${this.model}: ${message}`, retryable, undefined, undefined, code);
  }

  /** Constructs the provider and loads the model now, so that a bad file fails before any work starts. */
  static async create(options: LlamaCppProviderOptions): Promise<LlamaCppProvider> {
    const provider = new LlamaCppProvider(options);
    await provider.load();
    return provider;
  }

  /** Loads llama.cpp, the model and a context once, on first use. */
  load(): Promise<Loaded> {
    this.loading ??= (async () => {
      const { getLlama } = await import('node-llama-cpp');
      let llama: Llama;
      let model: LlamaModel;
      try {
        llama = await getLlama({
          gpu: this.options.gpuLayers ? 'auto' : false,
          build: 'never',
          logLevel: 'error' as never,
        });
        model = await llama.loadModel({ modelPath: this.modelPath, gpuLayers: this.options.gpuLayers ?? 0 });
      } catch (err) {
        throw this.fail(`cannot load ${this.modelPath}: ${(err as Error).message}`, false, 'model');
      }
      const parallel = Math.max(1, this.options.parallel ?? 1);
      const trained = model.trainContextSize || DEFAULT_CONTEXT;
      const context = await model.createContext({
        contextSize: this.options.contextSize ?? Math.min(trained, DEFAULT_CONTEXT),
        sequences: parallel,
        // all cores but one: llama.cpp's threads spin, and on a busy machine a thread per core slows
        // generation by orders of magnitude (measured: 44 ms vs 53 s for the same prompt under load)
        threads: this.options.threads ?? Math.max(1, availableParallelism() - 1),
      });
      const free = Array.from({ length: parallel }, () => context.getSequence());
      return { llama, model, context, free, waiters: [] };
    })();
    return this.loading;
  }

  private async acquire(loaded: Loaded): Promise<LlamaContextSequence> {
    const seq = loaded.free.pop();
    if (seq) return seq;
    return new Promise((resolve) => loaded.waiters.push(resolve));
  }

  private release(loaded: Loaded, seq: LlamaContextSequence): void {
    const next = loaded.waiters.shift();
    if (next) next(seq);
    else loaded.free.push(seq);
  }

  private grammar(loaded: Loaded, schema: Record<string, unknown>): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (!g) {
      g = loaded.llama.createGrammarForJsonSchema(schema as never).catch((err: Error) => {
        this.grammars.delete(key);
        throw this.fail(`the answer's JSON schema cannot be made into a grammar: ${err.message}`, false, 'bad_request');
      });
      this.grammars.set(key, g);
    }
    return g;
  }

  async complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const loaded = await this.load();
    const { LlamaChatSession } = await import('node-llama-cpp');
    const grammar =
      request.jsonSchema && this.options.structuredOutput !== false
        ? await this.grammar(loaded, request.jsonSchema)
        : undefined;
    const messages = request.messages;
    const lastUser = messages.map((m) => m.role).lastIndexOf('user');
    if (lastUser < 0) throw this.fail('the request has no user message', false, 'bad_request');

    // refuse what cannot fit, instead of letting the context shift drop the start of the prompt
    const promptTokens = messages.reduce((n, m) => n + loaded.model.tokenize(m.content).length + 8, 0);
    const contextSize = loaded.context.contextSize;
    if (promptTokens + request.maxTokens > contextSize) {
      throw this.fail(
        `the prompt (~${promptTokens} tokens) plus maxTokens (${request.maxTokens}) does not fit the context of ${contextSize} tokens: raise the context size or send fewer sentences per request`,
        false,
        'bad_request',
      );
    }

    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const signals = [signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => !!s,
    );
    const combined = signals.length > 0 ? AbortSignal.any(signals) : undefined;

    const seq = await this.acquire(loaded);
    const session = new LlamaChatSession({ contextSequence: seq, autoDisposeSequence: false });
    try {
      await seq.clearHistory();
      const history = messages
        .slice(0, lastUser)
        .map((m) =>
          m.role === 'system'
            ? { type: 'system' as const, text: m.content }
            : m.role === 'user'
              ? { type: 'user' as const, text: m.content }
              : { type: 'model' as const, response: [m.content] },
        );
      session.setChatHistory(history);
      const before = seq.tokenMeter.getState();
      const result = await session.promptWithMeta(messages[lastUser]!.content, {
        grammar,
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        seed: request.seed,
        signal: combined,
      });
      const used = seq.tokenMeter.diff(before);
      const text = result.responseText;
      return {
        text,
        finishReason: result.stopReason === 'maxTokens' ? 'length' : result.stopReason === 'abort' ? 'other' : 'stop',
        usage: { promptTokens: used.usedInputTokens, completionTokens: used.usedOutputTokens },
        model: this.model,
        structured: grammar !== undefined,
      };
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (signal?.aborted) throw this.fail('request aborted by the caller', false, 'aborted');
      if (combined?.aborted) throw this.fail(`no answer within ${timeoutMs} ms (timeout)`, true, 'timeout');
      throw this.fail(`generation failed: ${(err as Error).message}`, false, 'model');
    } finally {
      session.dispose({ disposeSequence: false });
      this.release(loaded, seq);
    }
  }

  async close(): Promise<void> {
    if (!this.loading) return;
    const loaded = await this.loading.catch(() => undefined);
    this.loading = undefined;
    if (!loaded) return;
    await loaded.context.dispose();
    await loaded.model.dispose();
  }
}
