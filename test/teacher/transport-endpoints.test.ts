/**
 * The annotation job against endpoints that behave like today's real ones (teacher-sim's profiles, over
 * HTTP on 127.0.0.1, the real OpenAI client): a reasoning model (400 to max_tokens and to temperature ≠ 1,
 * reasoning tokens), Gemini's compatible endpoint (400 to seed), a streaming-only server, unusual or
 * missing finish_reason, HTML bodies from a proxy. Every sentence annotated, F1 = 1 against gold with no
 * content noise, each request paid for once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startTeacherSim, type TeacherSim, type TeacherSimOptions } from '../../src/teacher/sim/server.js';
import type { SimProfile } from '../../src/teacher/sim/profiles.js';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { annotate } from '../../src/teacher/annotate.js';
import { resolveDefinitions } from '../../src/teacher/definitions.js';
import { ResponseCache } from '../../src/teacher/cache.js';
import { devSentences, simGold, scoreAgainstGold, tempDir } from './helpers.js';

const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

async function sim(n: number, extra: Partial<TeacherSimOptions>): Promise<TeacherSim> {
  const gold = simGold(devSentences().slice(0, n));
  const s = await startTeacherSim({
    gold,
    noise: 'none',
    seed: 5,
    log: null,
    noiseOverrides: { latencyMs: 0 },
    ...extra,
  });
  sims.push(s);
  return s;
}

/** distinct requests a run needs: one per batch of distinct sentence texts (identical requests share one answer) */
function distinctBatches(n: number, batch: number): number {
  const keys = new Set<string>();
  const input = devSentences().slice(0, n);
  for (let b = 0; b < n; b += batch) keys.add(JSON.stringify(input.slice(b, b + batch).map((s) => s.tokens)));
  return keys.size;
}

const N = 64;

const ENDPOINTS: Array<[string, Partial<TeacherSimOptions>]> = [
  ['reasoning', { profile: 'reasoning' as SimProfile }],
  ['gemini', { profile: 'gemini' as SimProfile }],
  ['stream-only', { profile: 'stream-only' as SimProfile }],
  ['finish_reason omitted', { finishReason: 'omit' }],
  ['finish_reason null', { finishReason: 'null' }],
  ['finish_reason eos_token', { finishReason: 'eos_token' }],
  ['finish_reason end', { finishReason: 'end' }],
];

describe.each(ENDPOINTS)('an endpoint with %s', (name, extra) => {
  it.each([1, 8])(`annotates every sentence at batch %i, F1 = 1, each request paid once (${name})`, async (batch) => {
    const s = await sim(N, extra);
    const notes: string[] = [];
    const res = await annotate({
      sentences: devSentences().slice(0, N),
      definitions,
      provider: new OpenAIProvider({ baseURL: s.url, model: name === 'reasoning' ? 'o4-mini' : 'gpt-test' }),
      batch,
      concurrency: 4,
      backoffBaseMs: 10,
      cache: join(tempDir(), 'c.sqlite'),
      log: (l) => notes.push(l),
    });
    expect(res.failed).toEqual([]);
    expect(res.stats.annotated).toBe(N);
    expect(scoreAgainstGold(devSentences().slice(0, N), res.sentences).f1).toBe(1);
    // paid: 200 answers; every one was a distinct request (no re-asks, no repeats)
    expect(s.stats.paidAnswers).toBe(distinctBatches(N, batch));
    expect(res.stats.requests).toBe(s.stats.paidAnswers);
    expect(res.stats.parseFailures).toBe(0);
    if (extra.profile && extra.profile !== 'openai') {
      // refusals were adapted to at once, a few at most (requests in flight before the first adaptation)
      expect(s.stats.refusedParams).toBeGreaterThan(0);
      expect(s.stats.refusedParams).toBeLessThanOrEqual(2 * 4);
      expect(res.stats.adaptations).toBeGreaterThan(0);
      expect(notes.some((l) => l.includes('adapted to the endpoint'))).toBe(true);
    }
    if (name === 'reasoning') {
      // reasoning tokens are counted and billed as output
      expect(res.stats.reasoningTokens).toBe(s.stats.reasoningTokens);
      expect(res.stats.completionTokens).toBe(s.stats.completionTokens);
      expect(res.stats.costUsd).toBeCloseTo((res.stats.promptTokens * 1.1 + res.stats.completionTokens * 4.4) / 1e6, 9);
    }
  });
});

describe('remembered endpoint quirks', () => {
  it('a later run on the same cache starts right: no refusals at all', async () => {
    const s = await sim(N, { profile: 'reasoning' });
    const cache = join(tempDir(), 'q.sqlite');
    const run = (from: number, to: number) =>
      annotate({
        sentences: devSentences().slice(from, to),
        definitions,
        provider: new OpenAIProvider({ baseURL: s.url, model: 'o3' }),
        concurrency: 2,
        cache,
        log: () => {},
      });
    await run(0, 10);
    const refused = s.stats.refusedParams;
    expect(refused).toBeGreaterThan(0);
    const c = new ResponseCache(cache);
    const endpoint = `${s.url}#o3`;
    expect(c.getQuirks(endpoint)).toMatchObject({
      maxTokensParam: 'max_completion_tokens',
      drop: ['temperature'],
      reasoning: true,
    });
    c.close();
    const second = await run(10, 30);
    expect(second.stats.annotated).toBe(20);
    expect(s.stats.refusedParams).toBe(refused);
  });
});

describe('HTML bodies from a proxy', () => {
  it('retries an HTML page sent as application/json as a transient failure', async () => {
    const s = await sim(40, { htmlBodyRate: 0.3 });
    const res = await annotate({
      sentences: devSentences().slice(0, 40),
      definitions,
      provider: new OpenAIProvider({ baseURL: s.url, model: 'gpt-test' }),
      concurrency: 4,
      backoffBaseMs: 5,
      maxRetries: 10,
      log: () => {},
    });
    expect(s.stats.statuses['200-html']).toBeGreaterThan(0);
    expect(res.stats.serverErrors).toBe(s.stats.statuses['200-html']);
    expect(res.stats.annotated).toBe(40);
    expect(scoreAgainstGold(devSentences().slice(0, 40), res.sentences).f1).toBe(1);
  });
});
