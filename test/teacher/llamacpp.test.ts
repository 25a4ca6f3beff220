/**
 * The embedded llama.cpp provider with a tiny random-weight llama GGUF written by the test itself
 * (scripts/make-tiny-gguf.ts): the grammar from the answer's JSON schema forces schema-valid JSON even from
 * a model that knows nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tinyVocab, writeTinyGguf } from '../../scripts/make-tiny-gguf.js';
import { InputError } from '../../src/errors.js';
import { LlamaCppProvider } from '../../src/teacher/providers/llamacpp.js';
import { ProviderError, type ChatMessage } from '../../src/teacher/providers/types.js';

const TYPES = ['PER', 'ORG', 'LOC', 'MISC'];

/** The answer schema of the pipeline's prompt protocol (PROMPT_PROTOCOL v1, prompt.ts answerSchema). */
function answerSchema(batched: boolean): Record<string, unknown> {
  const entities = {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'the entity, copied exactly from the sentence' },
        type: { type: 'string', enum: TYPES },
        occurrence: { type: ['integer', 'null'], description: '1-based occurrence' },
      },
      required: ['text', 'type', 'occurrence'],
      additionalProperties: false,
    },
  };
  const results = {
    type: 'array',
    items: {
      type: 'object',
      properties: { id: { type: 'string' }, entities },
      required: ['id', 'entities'],
      additionalProperties: false,
    },
  };
  return {
    type: 'object',
    properties: batched ? { reasoning: { type: 'string' }, results } : { reasoning: { type: 'string' }, entities },
    required: batched ? ['reasoning', 'results'] : ['reasoning', 'entities'],
    additionalProperties: false,
  };
}

const entity = z
  .object({ text: z.string(), type: z.enum(TYPES as [string, ...string[]]), occurrence: z.number().int().nullable() })
  .strict();
const single = z.object({ reasoning: z.string(), entities: z.array(entity) }).strict();
const batched = z
  .object({ reasoning: z.string(), results: z.array(z.object({ id: z.string(), entities: z.array(entity) }).strict()) })
  .strict();

const messages: ChatMessage[] = [
  {
    role: 'system',
    content:
      'You are an expert annotator of named entities. Types: PER, ORG, LOC, MISC. Reason step by step, then answer with JSON.',
  },
  { role: 'user', content: '<sentences>\n{"id":"1","text":"Peter Blackburn"}\n</sentences>' },
  {
    role: 'assistant',
    content:
      '{"reasoning":"Peter Blackburn is a person.","entities":[{"text":"Peter Blackburn","type":"PER","occurrence":null}]}',
  },
  {
    role: 'user',
    content:
      'Annotate this sentence:\n<sentences>\n{"id":"1","text":"EU rejects German call to boycott British lamb ."}\n</sentences>',
  },
];

describe('LlamaCppProvider with a tiny GGUF', () => {
  let dir: string;
  let modelPath: string;
  let provider: LlamaCppProvider;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'nerd-gguf-'));
    modelPath = writeTinyGguf(path.join(dir, 'tiny.gguf'), { seed: 1 });
    // one thread: the test machine is shared, and spinning llama.cpp threads are slow under load
    provider = await LlamaCppProvider.create({ modelPath, threads: 1, contextSize: 2048 });
  });
  afterAll(async () => {
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a GGUF v3 llama model that llama.cpp reads', async () => {
    const info = await readGgufFileInfo(modelPath);
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('llama');
    expect(info.tensorCount).toBe(12);
    expect(info.metadata.tokenizer.ggml.tokens.length).toBe(tinyVocab().tokens.length);
  });

  it('answers schema-valid JSON under the grammar (single sentence, greedy)', async () => {
    const res = await provider.complete({ messages, temperature: 0, maxTokens: 200, jsonSchema: answerSchema(false) });
    expect(res.finishReason).toBe('stop');
    expect(res.structured).toBe(true);
    expect(res.model).toBe('tiny.gguf');
    expect(single.safeParse(JSON.parse(res.text)).success).toBe(true);
    // usage is counted in the model's tokens: this vocabulary is character-level, so about one per character
    const chars = messages.reduce((n, m) => n + m.content.length, 0);
    expect(res.usage.promptTokens).toBeGreaterThan(chars * 0.8);
    expect(res.usage.completionTokens).toBeGreaterThanOrEqual(res.text.length * 0.5);
    expect(res.usage.estimated).toBeUndefined();
  });

  it('answers schema-valid JSON when sampling with different seeds (batched shape)', async () => {
    const texts = new Set<string>();
    for (const seed of [1, 2, 3, 4]) {
      const res = await provider.complete({
        messages,
        temperature: 1.5,
        seed,
        maxTokens: 400,
        jsonSchema: answerSchema(true),
      });
      expect(res.finishReason).toBe('stop');
      const parsed = batched.safeParse(JSON.parse(res.text));
      expect(parsed.success, res.text).toBe(true);
      texts.add(res.text);
    }
    expect(texts.size).toBeGreaterThan(1); // the seed reaches the sampler
  });

  it("reports finish_reason 'length' when maxTokens cuts the answer", async () => {
    const res = await provider.complete({ messages, temperature: 0, maxTokens: 4, jsonSchema: answerSchema(false) });
    expect(res.finishReason).toBe('length');
    expect(res.usage.completionTokens).toBe(4);
    expect(() => JSON.parse(res.text)).toThrow();
  });

  it('refuses a prompt that does not fit the context instead of silently cutting it', async () => {
    const long: ChatMessage[] = [{ role: 'user', content: 'x '.repeat(3000) }];
    const err = await provider.complete({ messages: long, temperature: 0, maxTokens: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
    expect((err as ProviderError).message).toMatch(/does not fit the context of 2048 tokens/);
  });

  it('serves concurrent requests one at a time on its sequence', async () => {
    const all = await Promise.all(
      [0, 1, 2].map(() =>
        provider.complete({ messages, temperature: 0, maxTokens: 200, jsonSchema: answerSchema(false) }),
      ),
    );
    expect(new Set(all.map((r) => r.text)).size).toBe(1);
  });
});

describe('LlamaCppProvider errors', () => {
  it('names a missing model file', () => {
    expect(() => new LlamaCppProvider({ modelPath: '/nonexistent/model.gguf' })).toThrow(InputError);
  });

  it('fails clearly, not retryably, on a file that is not a GGUF model', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-gguf-bad-'));
    const file = path.join(dir, 'bad.gguf');
    writeFileSync(file, Buffer.from('this is not a gguf file at all'.repeat(10)));
    try {
      const err = await LlamaCppProvider.create({ modelPath: file, threads: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).retryable).toBe(false);
      expect((err as ProviderError).code).toBe('model');
      expect((err as ProviderError).message).toContain(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
