/**
 * The annotation job against broken, hostile or absent servers: small OpenAI-compatible mocks written
 * here (node:http on 127.0.0.1), the real client. Batched answers with wrong ids, re-asks that say what was
 * wrong, bounded replies and rejections, and stopping fast when nothing can succeed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { ProviderError } from '../../src/teacher/providers/types.js';
import { annotate } from '../../src/teacher/annotate.js';
import { resolveDefinitions } from '../../src/teacher/definitions.js';
import { MAX_REJECTED } from '../../src/teacher/assembly.js';

const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface Call {
  body: { messages: Array<{ role: string; content: string }>; [k: string]: unknown };
}

/** a mock endpoint: `answer` gets each request's body and writes the reply */
async function mock(
  answer: (call: Call, res: ServerResponse, n: number) => void,
): Promise<{ url: string; calls: Call[] }> {
  const calls: Call[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const call = { body: JSON.parse(raw || '{}') as Call['body'] };
      calls.push(call);
      answer(call, res, calls.length);
    });
  });
  servers.push(server);
  server.keepAliveTimeout = 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls };
}

function completion(res: ServerResponse, content: string, finish: string | null = 'stop'): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'mock',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    }),
  );
}

/** the sentences of a request (PROMPT_PROTOCOL: one {"id","text"} per line in the last <sentences> block) */
function asked(call: Call): Array<{ id: string; text: string }> {
  const user = call.body.messages.filter((m) => m.role === 'user').at(-1)!.content;
  const block = user.slice(user.lastIndexOf('<sentences>'), user.lastIndexOf('</sentences>'));
  return block
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { id: string; text: string });
}

/** the true answer for our tiny corpus: the first token of each sentence is an ORG */
const SENTENCES = [
  'EU rejects the call',
  'Reuters reported it',
  'Nokia shares fell',
  'UN officials met',
  'BBC said so',
  'IBM hired staff',
];
const input = SENTENCES.map((t, i) => ({ id: `s${i}`, tokens: t.split(' '), spans: [] }));
const truth = (text: string) => [{ text: text.split(' ')[0], type: 'ORG' }];

const job = (url: string, extra: Record<string, unknown> = {}) => ({
  sentences: input,
  definitions,
  provider: new OpenAIProvider({ baseURL: url, model: 'mock', structuredOutput: false }),
  concurrency: 2,
  backoffBaseMs: 5,
  log: () => {},
  ...extra,
});

function expectAllRight(res: Awaited<ReturnType<typeof annotate>>): void {
  expect(res.stats.annotated).toBe(SENTENCES.length);
  for (const a of res.sentences) expect(a.entities.map((e) => [e.text, e.label])).toEqual([[a.tokens[0], 'ORG']]);
}

describe('batched answers are credited by checked ids', () => {
  it('0-based ids (unknown id 0): every sentence of the batch is asked again alone, none written empty', async () => {
    const m = await mock((call, res) => {
      const s = asked(call);
      if (s.length === 1) return completion(res, JSON.stringify({ entities: truth(s[0]!.text) }));
      completion(res, JSON.stringify({ results: s.map((x, j) => ({ id: String(j), entities: truth(x.text) })) }));
    });
    const res = await annotate(job(m.url, { batch: 3 }));
    expectAllRight(res);
    expect(res.stats.idMismatches).toBe(2);
    expect(res.stats.missingFromBatch).toBe(SENTENCES.length);
  });

  it('a duplicate id: those sentences are asked again alone; the others keep their answer', async () => {
    const m = await mock((call, res) => {
      const s = asked(call);
      if (s.length === 1) return completion(res, JSON.stringify({ entities: truth(s[0]!.text) }));
      // sentence 2's entities written under id 1 as well, id 2 missing
      const results = s.map((x, j) => ({ id: j === 1 ? '1' : String(j + 1), entities: truth(x.text) }));
      completion(res, JSON.stringify({ results }));
    });
    const res = await annotate(job(m.url, { batch: 3 }));
    expectAllRight(res);
    // per batch of 3: ids 1 (duplicate) and 2 (missing) asked alone, id 3 kept
    expect(res.stats.missingFromBatch).toBe(4);
    expect(m.calls.length).toBe(2 + 4);
  });
});

describe('re-asks say what was wrong', () => {
  it('a cut-off JSON answer and an unknown type each get a re-ask naming the problem', async () => {
    const m = await mock((call, res, n) => {
      const s = asked(call)[0]!;
      const last = call.body.messages.at(-1)!.content;
      if (!last.includes('could not be used')) {
        // first asks: sentence 0 is cut off (finish_reason stop, JSON incomplete), sentence 1 names a type that does not exist
        if (s.text.startsWith('EU')) return completion(res, '{"entities": [{"text": "EU", "ty');
        if (s.text.startsWith('Reuters'))
          return completion(res, JSON.stringify({ entities: [{ text: 'Reuters', type: 'VEHICLE' }] }));
      }
      void n;
      completion(res, JSON.stringify({ entities: truth(s.text) }));
    });
    const res = await annotate(job(m.url));
    expectAllRight(res);
    const notes = m.calls.map((c) => c.body.messages.at(-1)!.content).filter((c) => c.includes('could not be used'));
    expect(notes).toHaveLength(2);
    expect(
      notes.some(
        (c) => /stopped before its JSON was complete/.test(c) && c.includes('{"entities": [{"text": "EU", "ty'),
      ),
    ).toBe(true);
    expect(notes.some((c) => /unknown type "VEHICLE" \(use only PER, ORG, LOC, MISC\)/.test(c))).toBe(true);
    expect(res.stats.feedbackReasks).toBe(2);
  });

  it('invalid JSON is reported with its line and column', async () => {
    let second = '';
    const m = await mock((call, res) => {
      const s = asked(call)[0]!;
      const last = call.body.messages.at(-1)!.content;
      if (last.includes('could not be used')) {
        second = last;
        return completion(res, JSON.stringify({ entities: truth(s.text) }));
      }
      completion(res, '{"entities": [\n  {"text": "x", "type": "ORG"},\n  {"text": "y" :: "ORG"}\n]}');
    });
    const res = await annotate(job(m.url, { sentences: input.slice(0, 1) }));
    expect(res.stats.annotated).toBe(1);
    expect(second).toMatch(/invalid: line 3, column \d+/);
  });
});

describe('bounded work per reply', () => {
  it('keeps at most MAX_REJECTED rejected entities per sentence and counts the rest', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({ text: `Zork${i}`, type: 'ORG' }));
    const m = await mock((call, res) =>
      completion(res, JSON.stringify({ entities: [...truth(asked(call)[0]!.text), ...many] })),
    );
    const res = await annotate(job(m.url, { sentences: input.slice(0, 2) }));
    expect(res.stats.annotated).toBe(2);
    for (const a of res.sentences) {
      expect(a.entities).toHaveLength(1);
      expect(a.rejected).toHaveLength(MAX_REJECTED);
      expect(a.rejectedOmitted).toBe(3000 - MAX_REJECTED);
    }
    expect(res.stats.hallucinations).toBe(6000);
  });

  it('refuses a body over the size limit while it streams in, without buffering it', async () => {
    let written = 0;
    let closedEarly = false;
    const m = await mock((_call, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 50 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => {
        if (written < 50 * 1024 * 1024) closedEarly = true;
      });
      pump();
    });
    const provider = new OpenAIProvider({ baseURL: m.url, model: 'mock', maxResponseBytes: 1024 * 1024 });
    const err = await provider
      .complete({ messages: [{ role: 'user', content: 'hi' }], temperature: 0, maxTokens: 10 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('bad_response');
    expect((err as ProviderError).message).toMatch(/larger than 1048576 bytes/);
    await new Promise((r) => setTimeout(r, 200));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('fail fast', () => {
  it('an unreachable address stops the job at once, naming the address and the cause', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r)); // now a closed port
    const res = await annotate(job(`http://127.0.0.1:${port}/v1`, { maxRetries: 6, backoffBaseMs: 500 }));
    expect(res.stoppedBy).toBe('fatal');
    expect(res.fatalError).toContain(`http://127.0.0.1:${port}/v1`);
    expect(res.fatalError).toContain('connection refused (ECONNREFUSED)');
    expect(res.stats.retries).toBe(0);
    expect(res.stats.requests).toBeLessThanOrEqual(2); // the requests already in flight
    expect(res.stats.annotated + res.stats.pending).toBe(SENTENCES.length);
  });

  it('a TLS failure (https to a plain-HTTP server) stops the job at once', async () => {
    const m = await mock((_c, res) => completion(res, '{"entities": []}'));
    const url = m.url.replace('http://', 'https://');
    const res = await annotate(job(url));
    expect(res.stoppedBy).toBe('fatal');
    expect(res.fatalError).toContain(url);
    expect(res.fatalError).toMatch(/TLS failure \(ERR_SSL_WRONG_VERSION_NUMBER\)/);
    expect(m.calls).toHaveLength(0);
  });

  it('a 404 (unknown model) stops the job at once', async () => {
    const m = await mock((_c, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: 'The model `mock` does not exist or you do not have access to it.',
            type: 'invalid_request_error',
            param: null,
            code: 'model_not_found',
          },
        }),
      );
    });
    const res = await annotate(job(m.url));
    expect(res.stoppedBy).toBe('fatal');
    expect(res.fatalError).toMatch(/not found .*"mock".*does not exist/);
    expect(m.calls.length).toBeLessThanOrEqual(2);
  });

  it('the first requests all failing the same way stop the job', async () => {
    const m = await mock((_c, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
    });
    const res = await annotate(job(m.url, { maxRetries: 20, backoffBaseMs: 1 }));
    expect(res.stoppedBy).toBe('fatal');
    expect(res.fatalError).toMatch(/the first 6 requests all failed the same way.*overloaded/);
    expect(m.calls.length).toBeLessThanOrEqual(6 + 2);
  });

  it('a budget with no known price is refused before any request, with the hint', async () => {
    const m = await mock((_c, res) => completion(res, '{"entities": []}'));
    await expect(annotate(job(m.url, { maxCost: 1 }))).rejects.toThrow(
      /no price is known for model "mock".*--prices FILE/,
    );
    expect(m.calls).toHaveLength(0);
  });
});
