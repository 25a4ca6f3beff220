/**
 * The annotation job end to end: the real OpenAI client against `nerd teacher-sim` over HTTP on 127.0.0.1,
 * with faults switched on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { annotate, type AnnotateOptions } from '../../src/teacher/annotate.js';
import { resolveDefinitions } from '../../src/teacher/definitions.js';
import { locate } from '../../src/teacher/ground.js';
import { ResponseCache } from '../../src/teacher/cache.js';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/teacher/providers/types.js';
import { devSentences, simGold, RecordingProvider, scoreAgainstGold, tempDir } from './helpers.js';

const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

/** a simulator over the first `n` dev sentences; fast: no base latency, short Retry-After and slow answers */
async function sim(n: number, noise: 'default' | 'none', overrides: Record<string, number> = {}): Promise<TeacherSim> {
  const gold = simGold(devSentences().slice(0, n));
  const s = await startTeacherSim({
    gold,
    noise,
    seed: 7,
    log: null,
    noiseOverrides: { latencyMs: 0, slowMs: 50, retryAfterS: 0.2, ...overrides },
  });
  sims.push(s);
  return s;
}

function job(s: TeacherSim, n: number, extra: Partial<AnnotateOptions> = {}): AnnotateOptions {
  return {
    sentences: devSentences().slice(0, n),
    definitions,
    provider: new OpenAIProvider({ baseURL: s.url, model: 'gpt-test' }),
    concurrency: 8,
    backoffBaseMs: 20,
    log: () => {},
    ...extra,
  };
}

describe('annotate against teacher-sim with faults on', () => {
  it('annotates every sentence exactly once, in input order, rejecting and counting hallucinations', async () => {
    const n = 160;
    const s = await sim(n, 'default', { dropSentenceRate: 0.1, hallucinationRate: 0.2 });
    const res = await annotate(job(s, n, { batch: 4 }));
    const input = devSentences().slice(0, n);
    expect(res.failed).toEqual([]);
    expect(res.sentences.map((a) => a.id)).toEqual(input.map((x) => x.id));
    expect(new Set(res.sentences.map((a) => a.id)).size).toBe(n);
    expect(res.stats.annotated).toBe(n);
    // faults really happened and were survived
    expect(s.stats.faults.hallucinated).toBeGreaterThan(0);
    expect(s.stats.faults.dropped_sentence).toBeGreaterThan(0);
    expect(res.stats.missingFromBatch).toBeGreaterThanOrEqual(s.stats.faults.dropped_sentence > 0 ? 1 : 0);
    expect(res.stats.retries).toBeGreaterThan(0);
    // every hallucination is rejected, kept for inspection and counted
    const notFound = res.sentences.flatMap((a) =>
      a.rejected.filter((r) => r.reason === 'not-found').map((r) => ({ a, r })),
    );
    expect(notFound.length).toBe(res.stats.hallucinations);
    expect(res.stats.hallucinations).toBeGreaterThanOrEqual(s.stats.faults.hallucinated * 0.5);
    for (const { a, r } of notFound) expect(locate(a.tokens, r.text)).toBeUndefined();
    // every kept entity is grounded in its sentence's tokens
    for (const a of res.sentences) {
      for (const e of a.entities) {
        expect(e.text).toBe(a.tokens.slice(e.start, e.end).join(' '));
        expect(e.confidence).toBe(1);
      }
      expect(a.teacher).toEqual({ model: 'SIMULATED-teacher(gpt-test)', samples: 1 });
    }
    expect(res.stats.simulated).toBe(true);
  });

  it('retries 429s no sooner than Retry-After, without failing the run', async () => {
    const n = 40;
    const s = await sim(n, 'none', { rateLimitRate: 0.4, retryAfterS: 0.3 });
    const rec = new RecordingProvider(new OpenAIProvider({ baseURL: s.url, model: 'gpt-test' }));
    const res = await annotate(job(s, n, { provider: rec, maxRetries: 10 }));
    expect(res.stats.annotated).toBe(n);
    const limited = rec.calls.filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThan(3);
    expect(res.stats.rateLimited).toBe(limited.length);
    for (const c of limited) {
      expect(c.retryAfterMs).toBe(300);
      const next = rec.calls.find((d) => d.key === c.key && d.start > c.end);
      expect(next, 'a rate-limited request is asked again').toBeDefined();
      // timers have millisecond granularity
      expect(next!.start - c.end).toBeGreaterThanOrEqual(300 - 1);
    }
    expect(scoreAgainstGold(devSentences().slice(0, n), res.sentences).f1).toBe(1);
  });

  it('times out slow requests and asks again, without failing the run', async () => {
    const n = 30;
    const s = await sim(n, 'none', { slowRate: 0.3, slowMs: 1500 });
    // (teacher-sim's close() waits out keep-alive on connections whose client timed out, ~70 s: not awaited)
    sims.splice(sims.indexOf(s), 1);
    const res = await annotate(job(s, n, { timeoutMs: 300, maxRetries: 10 }));
    void s.close();
    expect(s.stats.faults.slow).toBeGreaterThan(0);
    expect(res.stats.timeouts).toBeGreaterThan(0);
    expect(res.stats.annotated).toBe(n);
    expect(scoreAgainstGold(devSentences().slice(0, n), res.sentences).f1).toBe(1);
  });

  it('never takes a finish_reason "length" answer: with only format and network faults the result equals gold', async () => {
    const n = 120;
    const s = await sim(n, 'none', {
      lengthCutoffRate: 0.25,
      truncatedJsonRate: 0.1,
      invalidJsonRate: 0.1,
      trailingCommaRate: 0.2,
      proseAfterJsonRate: 0.2,
      serverErrorRate: 0.1,
      rateLimitRate: 0.05,
    });
    // plain text: with structured output the server's JSON is well-formed by construction
    const res = await annotate(job(s, n, { batch: 3, maxRetries: 10, structured: false }));
    expect(s.stats.faults.length_cutoff).toBeGreaterThan(0);
    expect(res.stats.truncated).toBe(s.stats.faults.length_cutoff + s.stats.faults.max_tokens_cutoff);
    expect(res.stats.parseFailures).toBeGreaterThan(0);
    expect(res.stats.annotated).toBe(n);
    expect(scoreAgainstGold(devSentences().slice(0, n), res.sentences).f1).toBe(1);
  });

  it('asks again with a larger limit after a cut-off answer even when the cut-off text looks like valid JSON', async () => {
    // a scripted endpoint: the first answer is complete-looking JSON but finish_reason length
    const seen: number[] = [];
    const provider: ChatProvider = {
      kind: 'scripted',
      model: 'scripted',
      async complete(req: ChatRequest): Promise<ChatResponse> {
        seen.push(req.maxTokens);
        return seen.length === 1
          ? {
              text: '{"entities":[]}',
              finishReason: 'length',
              usage: { promptTokens: 10, completionTokens: 5 },
              model: 'scripted',
            }
          : {
              text: '{"entities":[{"text":"EU","type":"ORG"}]}',
              finishReason: 'stop',
              usage: { promptTokens: 10, completionTokens: 9 },
              model: 'scripted',
            };
      },
    };
    const res = await annotate({
      sentences: [{ tokens: ['EU', 'rejects', 'it'], spans: [] }],
      definitions,
      provider,
      maxTokens: 100,
      log: () => {},
    });
    expect(seen).toEqual([100, 200]);
    expect(res.stats.truncated).toBe(1);
    expect(res.sentences[0]!.entities.map((e) => e.text)).toEqual(['EU']);
  });

  it('gives up on a sentence whose answers are always cut off, and reports it as failed instead of empty', async () => {
    const provider: ChatProvider = {
      kind: 'scripted',
      model: 'scripted',
      async complete(): Promise<ChatResponse> {
        return {
          text: 'Step 1: EU is',
          finishReason: 'length',
          usage: { promptTokens: 10, completionTokens: 5 },
          model: 'scripted',
        };
      },
    };
    const res = await annotate({
      sentences: [{ id: 's1', tokens: ['EU'], spans: [] }],
      definitions,
      provider,
      maxTokens: 100,
      maxRetries: 2,
      log: () => {},
    });
    expect(res.sentences).toEqual([]);
    expect(res.failed).toEqual([{ id: 's1', index: 0, reason: expect.stringContaining('cut off') }]);
    // 100, 200, 400 (cap 4×), then at the cap re-asked with feedback maxRetries times
    expect(res.stats.truncated).toBe(3 + 2);
    expect(res.stats.feedbackReasks).toBe(2);
  });

  it('labels an entity that occurs twice at both places, and gives every span its vote share with --samples', async () => {
    const n = 300;
    const input = devSentences().slice(0, n);
    const twice = input.findIndex((s) =>
      s.spans.some((a) =>
        s.spans.some(
          (b) =>
            b !== a &&
            b.label === a.label &&
            s.tokens.slice(a.start, a.end).join(' ') === s.tokens.slice(b.start, b.end).join(' '),
        ),
      ),
    );
    expect(twice).toBeGreaterThanOrEqual(0);
    const s = await sim(n, 'none');
    const res = await annotate(job(s, n, { batch: 8 }));
    const a = res.sentences.find((x) => x.index === twice)!;
    expect(a.entities.map(({ start, end, label }) => ({ start, end, label }))).toEqual(
      input[twice]!.spans.map(({ start, end, label }) => ({ start, end, label })),
    );
    expect(scoreAgainstGold(input, res.sentences).f1).toBe(1);

    const noisy = await sim(60, 'default');
    const voted = await annotate(job(noisy, 60, { samples: 3, temperature: 0.8 }));
    expect(voted.stats.annotated).toBe(60);
    const confidences = new Set(voted.sentences.flatMap((x) => x.entities.map((e) => e.confidence)));
    // confidence = votes for the kept type / samples asked (vote.ts): a mention kept by majority may
    // have had its type split (1/3 with three different types)
    for (const c of confidences) expect([1 / 3, 2 / 3, 1]).toContain(c);
    expect(voted.sentences.every((x) => x.teacher.samples === 3)).toBe(true);
    expect(voted.sentences.flatMap((x) => x.rejected).some((r) => r.reason === 'below-confidence')).toBe(true);
    const loose = await annotate(job(noisy, 60, { samples: 3, temperature: 0.8, minConfidence: 0.3 }));
    expect(loose.sentences.flatMap((x) => x.entities).length).toBeGreaterThan(
      voted.sentences.flatMap((x) => x.entities).length,
    );
  });

  it('caches every answer: a second run pays nothing and returns the same annotations', async () => {
    const n = 50;
    const s = await sim(n, 'default');
    const cacheFile = join(tempDir(), 'c.sqlite');
    const first = await annotate(job(s, n, { batch: 2, cache: cacheFile }));
    const answered = s.stats.answers;
    expect(existsSync(cacheFile)).toBe(true);
    const second = await annotate(job(s, n, { batch: 2, cache: cacheFile }));
    expect(s.stats.answers).toBe(answered);
    expect(second.stats.requests).toBe(0);
    expect(second.sentences).toEqual(first.sentences);
    const c = new ResponseCache(cacheFile);
    expect(c.size()).toBeGreaterThanOrEqual(Math.ceil(n / 2));
    c.close();
  });

  it('stops at --max-cost with what is done, and a rerun finishes without paying twice; --dry-run calls nothing', async () => {
    const n = 60;
    const s = await sim(n, 'none');
    const cacheFile = join(tempDir(), 'c.sqlite');
    const price = { input: 10, output: 30 }; // USD per 1M tokens
    const dry = await annotate(job(s, n, { cache: cacheFile, price, dryRun: true }));
    expect(s.stats.requests).toBe(0);
    expect(dry.estimate!.requests).toBe(n);
    expect(dry.estimate!.costUsd).toBeGreaterThan(0);
    const budget = dry.estimate!.costUsd / 3;
    const stopped = await annotate(job(s, n, { cache: cacheFile, price, maxCost: budget, concurrency: 2 }));
    expect(stopped.stoppedBy).toBe('budget');
    expect(stopped.stats.costUsd).toBeLessThanOrEqual(budget);
    expect(stopped.stats.annotated).toBeGreaterThan(0);
    expect(stopped.stats.annotated + stopped.stats.pending).toBe(n);
    const paid = s.stats.answers;
    expect(paid).toBe(stopped.stats.requests);
    const after = await annotate(job(s, n, { cache: cacheFile, dryRun: true, price }));
    // every sentence done so far is answered from the cache (so is a later repeat of a done headline)
    expect(after.estimate!.cachedRequests).toBeGreaterThanOrEqual(stopped.stats.annotated);
    expect(after.estimate!.cachedRequests + after.estimate!.requests).toBe(n);
    const rest = await annotate(job(s, n, { cache: cacheFile, price }));
    expect(rest.stoppedBy).toBeUndefined();
    expect(rest.stats.annotated).toBe(n);
    expect(rest.stats.cacheHits).toBeGreaterThanOrEqual(stopped.stats.annotated);
    // each distinct sentence asked once over both runs (a repeated headline is asked once)
    expect(s.stats.answers).toBe(
      new Set(
        devSentences()
          .slice(0, n)
          .map((x) => x.tokens.join(' ')),
      ).size,
    );
    expect(scoreAgainstGold(devSentences().slice(0, n), rest.sentences).f1).toBe(1);
  });
});
