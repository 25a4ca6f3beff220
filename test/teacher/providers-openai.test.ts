/**
 * The OpenAI provider (real `openai` SDK client) against `nerd teacher-sim` over HTTP on 127.0.0.1.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrictCompatible, mapFinishReason, OpenAIProvider, readUsage } from '../../src/teacher/providers/openai.js';
import { adapt } from '../../src/teacher/providers/adapt.js';
import { unwrapErrorArray } from '../../src/teacher/providers/http.js';
import { parseRetryAfterMs } from '../../src/teacher/providers/retry-after.js';
import { scrubSecrets } from '../../src/teacher/providers/secrets.js';
import { ProviderError, type ChatRequest } from '../../src/teacher/providers/types.js';
import type { GoldSentence } from '../../src/teacher/sim/gold.js';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';

const GOLD: GoldSentence[] = [
  {
    index: 0,
    tokens: ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.'],
    entities: [
      { start: 0, end: 1, type: 'ORG' },
      { start: 2, end: 3, type: 'MISC' },
      { start: 6, end: 7, type: 'MISC' },
    ],
  },
  { index: 1, tokens: ['Peter', 'Blackburn'], entities: [{ start: 0, end: 2, type: 'PER' }] },
  { index: 2, tokens: ['BRUSSELS', '1996-08-22'], entities: [{ start: 0, end: 1, type: 'LOC' }] },
];

const SCHEMA = {
  type: 'object',
  properties: {
    entities: {
      type: 'array',
      items: {
        type: 'object',
        properties: { text: { type: 'string' }, type: { type: 'string' } },
        required: ['text', 'type'],
      },
    },
  },
  required: ['entities'],
};

function request(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [
      { role: 'system', content: 'You annotate named entities (PER, ORG, LOC, MISC).' },
      { role: 'user', content: `Sentence: ${text}\nThink step by step, then answer with JSON.` },
    ],
    temperature: 0,
    maxTokens: 2000,
    ...extra,
  };
}

/** the JSON object at the end of a plain-text answer */
function lastJson(text: string): unknown {
  const fenced = /```json\n([\s\S]*?)\n```/.exec(text);
  return JSON.parse(fenced ? fenced[1]! : text.slice(text.indexOf('{', text.indexOf('Final answer'))));
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the call to fail');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('OpenAIProvider against teacher-sim', () => {
  let sim: TeacherSim;
  beforeAll(async () => {
    sim = await startTeacherSim({ gold: GOLD, noise: 'none', log: null });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('gets structured output equal to gold with noise off', async () => {
    const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', apiKey: 'unused' });
    const res = await provider.complete(
      request('EU rejects German call to boycott British lamb .', { jsonSchema: SCHEMA }),
    );
    expect(res.structured).toBe(true);
    expect(res.finishReason).toBe('stop');
    expect(res.model).toContain('SIMULATED');
    expect(JSON.parse(res.text)).toEqual({
      entities: [
        { text: 'EU', type: 'ORG' },
        { text: 'German', type: 'MISC' },
        { text: 'British', type: 'MISC' },
      ],
    });
    expect(res.usage.promptTokens).toBeGreaterThan(10);
    expect(res.usage.completionTokens).toBe(Math.ceil(res.text.length / 4));
    expect(res.usage.estimated).toBeUndefined();
  });

  it('gets reasoning then JSON as plain text when structured output is off', async () => {
    const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', structuredOutput: false });
    const res = await provider.complete(request('Peter Blackburn', { jsonSchema: SCHEMA }));
    expect(res.structured).toBe(false);
    expect(res.text).toMatch(/Step 1:/);
    expect(res.text).toContain("'Peter Blackburn' is a person → PER");
    expect(lastJson(res.text)).toEqual({ entities: [{ text: 'Peter Blackburn', type: 'PER' }] });
  });

  it('falls back to plain text when the server rejects json_schema, and remembers it', async () => {
    const strict = await startTeacherSim({ gold: GOLD, noise: 'none', rejectStructuredOutput: true, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: strict.url, model: 'llama' });
      expect(provider.usesStructuredOutput).toBe(true);
      const first = await provider.complete(request('BRUSSELS 1996-08-22', { jsonSchema: SCHEMA }));
      expect(first.structured).toBe(false);
      expect(lastJson(first.text)).toEqual({ entities: [{ text: 'BRUSSELS', type: 'LOC' }] });
      expect(provider.usesStructuredOutput).toBe(false);
      await provider.complete(request('Peter Blackburn', { jsonSchema: SCHEMA }));
      expect(strict.stats.statuses['400']).toBe(1); // asked once, never again
      expect(strict.stats.statuses['200']).toBe(2);
    } finally {
      await strict.close();
    }
  });

  it('switches to max_completion_tokens when the server asks for it, and remembers', async () => {
    const modern = await startTeacherSim({ gold: GOLD, noise: 'none', requireMaxCompletionTokens: true, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: modern.url, model: 'o-something' });
      const res = await provider.complete(request('Peter Blackburn', { jsonSchema: SCHEMA }));
      expect(JSON.parse(res.text)).toEqual({ entities: [{ text: 'Peter Blackburn', type: 'PER' }] });
      await provider.complete(request('BRUSSELS 1996-08-22', { jsonSchema: SCHEMA }));
      expect(modern.stats.statuses['400']).toBe(1);
      expect(modern.stats.statuses['200']).toBe(2);
    } finally {
      await modern.close();
    }
  });

  it('estimates usage (characters / 4) and says so when the server reports none', async () => {
    const bare = await startTeacherSim({ gold: GOLD, noise: 'none', omitUsage: true, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: bare.url, model: 'local' });
      const req = request('Peter Blackburn', { jsonSchema: SCHEMA });
      const res = await provider.complete(req);
      expect(res.usage.estimated).toBe(true);
      expect(res.usage.completionTokens).toBe(Math.ceil(res.text.length / 4));
      expect(res.usage.promptTokens).toBe(Math.ceil(req.messages.reduce((n, m) => n + m.content.length, 0) / 4));
    } finally {
      await bare.close();
    }
  });

  it("maps finish_reason 'length' when max tokens cut the answer", async () => {
    const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', structuredOutput: false });
    const res = await provider.complete(request('EU rejects German call to boycott British lamb .', { maxTokens: 20 }));
    expect(res.finishReason).toBe('length');
    expect(res.text.length).toBeLessThanOrEqual(80);
  });

  it('rejects a 404 (wrong base URL) as not retryable', async () => {
    const provider = new OpenAIProvider({ baseURL: sim.url.replace(/\/v1$/, '/nope'), model: 'gpt-4o' });
    const err = await rejection(provider.complete(request('Peter Blackburn')));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(404);
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(sim.url.replace(/\/v1$/, '/nope'));
  });
});

describe('OpenAIProvider error mapping', () => {
  it('turns 429 into a retryable error with retryAfterMs from the headers', async () => {
    const sim = await startTeacherSim({
      gold: GOLD,
      noise: 'none',
      noiseOverrides: { rateLimitRate: 1, retryAfterS: 2.5 },
      log: null,
    });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
      const err = await rejection(provider.complete(request('Peter Blackburn')));
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(429);
      expect(err.code).toBe('rate_limit');
      expect(err.retryAfterMs).toBe(2500);
      expect(sim.stats.requests).toBe(1); // the SDK did not retry on its own
    } finally {
      await sim.close();
    }
  });

  it('turns 500 into a retryable server error, without SDK retries', async () => {
    const sim = await startTeacherSim({ gold: GOLD, noise: 'none', noiseOverrides: { serverErrorRate: 1 }, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
      const err = await rejection(provider.complete(request('Peter Blackburn')));
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(500);
      expect(err.code).toBe('server');
      expect(sim.stats.requests).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it('times out a slow answer as a retryable timeout', async () => {
    const sim = await startTeacherSim({ gold: GOLD, noise: 'none', noiseOverrides: { latencyMs: 3000 }, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
      const t0 = Date.now();
      const err = await rejection(provider.complete(request('Peter Blackburn', { timeoutMs: 200 })));
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(err.retryable).toBe(true);
      expect(err.code).toBe('timeout');
      expect(err.message).toMatch(/200 ms/);
    } finally {
      await sim.close();
    }
  });

  it("treats the caller's abort as not retryable", async () => {
    const sim = await startTeacherSim({ gold: GOLD, noise: 'none', noiseOverrides: { latencyMs: 3000 }, log: null });
    try {
      const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const err = await rejection(provider.complete(request('Peter Blackburn'), controller.signal));
      expect(err.retryable).toBe(false);
      expect(err.code).toBe('aborted');
    } finally {
      await sim.close();
    }
  });

  it('names a refused connection as unreachable, with the address (the job stops on it before any success)', async () => {
    const port = await freePort();
    const provider = new OpenAIProvider({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'gpt-4o' });
    const err = await rejection(provider.complete(request('Peter Blackburn')));
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('unreachable');
    expect(err.message).toContain(`http://127.0.0.1:${port}/v1`);
    expect(err.message).toContain('connection refused (ECONNREFUSED)');
  });

  it('never lets the API key into an error message (server echoes it on 401)', async () => {
    const secret = 'sk-test-DO-NOT-LEAK-8c1f2e9a7b';
    const sim = await startTeacherSim({ gold: GOLD, noise: 'none', apiKey: 'the-right-key', log: null });
    const saved = { NERD_API_KEY: process.env.NERD_API_KEY, OPENAI_API_KEY: process.env.OPENAI_API_KEY };
    try {
      // the key given explicitly
      const explicit = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', apiKey: secret });
      const err1 = await rejection(explicit.complete(request('Peter Blackburn')));
      // the key from the environment (NERD_API_KEY wins over OPENAI_API_KEY)
      process.env.NERD_API_KEY = `${secret}-env`;
      process.env.OPENAI_API_KEY = 'sk-other-openai-key-123456';
      const fromEnv = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
      const err2 = await rejection(fromEnv.complete(request('Peter Blackburn')));
      const last = await fetch(`${sim.url.replace(/\/v1$/, '')}/stats`).then(
        (r) => r.json() as Promise<{ statuses: Record<string, number> }>,
      );
      expect(last.statuses['401']).toBe(2); // the server really did see (and echo) the keys
      for (const err of [err1, err2]) {
        expect(err.retryable).toBe(false);
        expect(err.status).toBe(401);
        expect(err.code).toBe('auth');
        const everything = `${err.message} ${err.stack} ${String(err)} ${JSON.stringify(err)}`;
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain('DO-NOT-LEAK');
        expect(everything).toContain('[redacted]');
      }
      // and a good key works
      const good = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o', apiKey: 'the-right-key' });
      await expect(good.complete(request('Peter Blackburn'))).resolves.toMatchObject({ finishReason: 'stop' });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await sim.close();
    }
  });
});

describe('parseRetryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '1500' }), now)).toBe(1500);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '0.25' }), now)).toBe(250);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), now)).toBe(7000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs({ 'Retry-After': '2' }, now)).toBe(2000);
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('scrubSecrets', () => {
  it('removes known secrets and key-shaped strings', () => {
    expect(scrubSecrets('bad key abcd1234xyz given', ['abcd1234xyz'])).toBe('bad key [redacted] given');
    expect(scrubSecrets('Incorrect API key provided: sk-proj-ab***********yz.', [])).not.toContain('sk-proj');
    expect(scrubSecrets('GET /v1?api_key=supersecretvalue', [])).toBe('GET /v1?api_key=[redacted]');
    expect(scrubSecrets('Authorization: Bearer abcdefgh123', [])).toBe('Authorization: [redacted]');
    expect(scrubSecrets('http://me:hunter2@gateway.local/v1', [])).toBe('http://[redacted]@gateway.local/v1');
  });
});

describe('structured-output details', () => {
  it('asks for strict mode only for schemas that allow it', () => {
    expect(isStrictCompatible(SCHEMA)).toBe(false); // no additionalProperties: false
    const strict = {
      type: 'object',
      properties: {
        entities: {
          type: 'array',
          items: {
            type: 'object',
            properties: { text: { type: 'string' } },
            required: ['text'],
            additionalProperties: false,
          },
        },
      },
      required: ['entities'],
      additionalProperties: false,
    };
    expect(isStrictCompatible(strict)).toBe(true);
    const partlyRequired = { ...strict, properties: { ...strict.properties, extra: { type: 'string' } } };
    expect(isStrictCompatible(partlyRequired)).toBe(false);
  });

  it('maps finish reasons', () => {
    expect(mapFinishReason('stop')).toBe('stop');
    expect(mapFinishReason('length')).toBe('length');
    expect(mapFinishReason('content_filter')).toBe('content_filter');
    expect(mapFinishReason('function_call')).toBe('tool_calls');
    expect(mapFinishReason(null)).toBe('other');
  });
});

describe('endpoint capability adaptation (adapt.ts)', () => {
  const sent = {
    model: 'm',
    messages: [],
    max_tokens: 100,
    temperature: 0,
    seed: 3,
    response_format: { type: 'json_schema' },
  };
  it('renames max_tokens, drops what a refusal names (param field or message), and asks for streaming', () => {
    expect(
      adapt(
        {
          status: 400,
          param: 'max_tokens',
          text: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        },
        sent,
        {},
      ),
    ).toMatchObject({ quirks: { maxTokensParam: 'max_completion_tokens', reasoning: true } });
    const noMax = { ...sent, max_tokens: undefined, max_completion_tokens: 100 };
    expect(
      adapt(
        {
          status: 400,
          param: 'temperature',
          text: "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.",
        },
        noMax,
        {},
      ),
    ).toMatchObject({ quirks: { drop: ['temperature'], reasoning: true } });
    // Gemini: no param field, several names in the message
    const gemini =
      'Invalid JSON payload received. Unknown name "frequency_penalty": Cannot find field.\nInvalid JSON payload received. Unknown name "seed": Cannot find field.';
    expect(adapt({ status: 400, text: gemini }, { ...noMax, frequency_penalty: 0 }, {})?.quirks.drop?.sort()).toEqual([
      'frequency_penalty',
      'seed',
    ]);
    const dashscope = 'This model only support stream mode, please enable the stream parameter to access the model. ';
    expect(
      adapt({ status: 400, param: null, text: dashscope }, { ...noMax, response_format: undefined }, {}),
    ).toMatchObject({ quirks: { stream: true } });
    // a refusal naming nothing: structured output is dropped (the old fallback), then nothing is left to try
    expect(adapt({ status: 400, text: 'bad request' }, sent, {})).toMatchObject({
      quirks: { drop: ['response_format'] },
    });
    expect(
      adapt({ status: 400, text: 'context length exceeded' }, { ...noMax, response_format: undefined }, {}),
    ).toBeUndefined();
    expect(adapt({ status: 500, text: "'seed'" }, sent, {})).toBeUndefined();
  });

  it('unwraps array error bodies and counts reasoning tokens left out of completion_tokens', () => {
    expect(unwrapErrorArray('[{"error":{"code":400,"message":"x"}}]')).toBe('{"error":{"code":400,"message":"x"}}');
    expect(unwrapErrorArray('{"error":{}}')).toBe('{"error":{}}');
    // OpenAI: completion_tokens includes reasoning; a server whose total shows them left out gets them added
    expect(
      readUsage({
        prompt_tokens: 10,
        completion_tokens: 50,
        total_tokens: 60,
        completion_tokens_details: { reasoning_tokens: 40 },
      }),
    ).toEqual({
      promptTokens: 10,
      completionTokens: 50,
      reasoningTokens: 40,
    });
    expect(
      readUsage({
        prompt_tokens: 10,
        completion_tokens: 10,
        total_tokens: 60,
        completion_tokens_details: { reasoning_tokens: 40 },
      }).completionTokens,
    ).toBe(50);
    for (const f of ['eos', 'eos_token', 'end', 'end_turn']) expect(mapFinishReason(f)).toBe('stop');
    expect(mapFinishReason(undefined)).toBe('other');
  });
});
