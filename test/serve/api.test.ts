/**
 * The prediction API over real HTTP (fetch) against the real server on 127.0.0.1, with a real checkpoint
 * (fresh tiny BERT exported to ONNX by the student's engine) running in onnxruntime-node.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExposure } from '../../src/serve/http.js';
import { loadPredictor, loadPredictorInWorker } from '../../src/serve/model.js';
import type { Predictor } from '../../src/serve/predictor.js';
import { startServeServer, type RunningServer } from '../../src/serve/server.js';
import { conllDev } from './fixtures.js';
import { makeCheckpoint } from './model-fixture.js';

const TOKEN = 'test-token-0123456789abcdef';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('nerd serve API', () => {
  let modelDir: string;
  let predictor: Predictor;
  let direct: Predictor;
  let server: RunningServer;
  let secured: RunningServer;

  beforeAll(async () => {
    modelDir = await makeCheckpoint('tiny');
    // the server runs the model in a worker thread, as `nerd serve` does; `direct` answers in this thread
    predictor = await loadPredictorInWorker(modelDir, { threads: 1 });
    direct = await loadPredictor(modelDir, { threads: 1 });
    server = await startServeServer({
      predictor,
      port: 0,
      limits: { bodyLimit: 16 * 1024, maxItems: 50 },
      batching: { maxBatch: 16, maxWaitMs: 10, maxQueueTokens: 40_000 },
    });
    secured = await startServeServer({ predictor, port: 0, token: TOKEN });
  }, 120_000);

  afterAll(async () => {
    await server?.app.close();
    await secured?.app.close();
    await predictor?.close?.();
    await direct?.close?.();
  });

  it('answers /health with the model, limits and batching counters', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const h = (await res.json()) as any;
    expect(h.status).toBe('ok');
    expect(h.types).toEqual(['LOC', 'MISC', 'ORG', 'PER']);
    expect(h.model.labels).toHaveLength(9);
    expect(h.limits.bodyLimit).toBe(16 * 1024);
    expect(h.batching).toMatchObject({ maxBatch: 16, batches: expect.any(Number) });
  });

  it('predicts texts with character and token offsets, and sentences with token offsets', async () => {
    const texts = ['EU rejects German call to boycott British lamb.', 'Peter Blackburn, BRUSSELS 1996-08-22', ''];
    const r = await post(`${server.url}/predict`, { texts });
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(3);
    expect(r.body.results[2]).toEqual({ tokens: [], entities: [] });
    const want = await direct.predictTexts(texts.slice(0, 2));
    r.body.results.slice(0, 2).forEach((res: any, i: number) => {
      expect(res.tokens).toEqual(want[i]!.tokens);
      expect(res.entities.map((e: any) => [e.start, e.end, e.label, e.charStart, e.charEnd])).toEqual(
        want[i]!.entities.map((e) => [e.start, e.end, e.label, e.charStart, e.charEnd]),
      );
      for (const e of res.entities) {
        expect(texts[i]!.slice(e.charStart, e.charEnd)).toBe(e.text);
        expect(res.tokens.slice(e.start, e.end).join('')).toBe(e.text.replace(/\s+/g, ''));
        expect(e.score).toBeGreaterThan(0);
        expect(e.score).toBeLessThanOrEqual(1);
      }
    });
    // untrained weights still tag something in a dozen words: the check above ran on real entities
    expect(r.body.results.flatMap((x: any) => x.entities).length).toBeGreaterThan(0);

    const sentences = conllDev(3).map((s) => s.tokens);
    const s = await post(`${server.url}/predict`, { sentences });
    expect(s.status).toBe(200);
    const wantS = await direct.predictSentences(sentences);
    s.body.results.forEach((res: any, i: number) => {
      expect(res.tokens).toEqual(sentences[i]);
      expect(res.entities.map((e: any) => [e.start, e.end, e.label])).toEqual(
        wantS[i]!.entities.map((e) => [e.start, e.end, e.label]),
      );
      for (const e of res.entities) expect(e.charStart).toBeUndefined();
    });
  });

  it('micro-batches concurrent requests: fewer model calls than requests, same answers', async () => {
    const sentences = conllDev(40).map((s) => s.tokens);
    const alone = await direct.predictSentences(sentences);
    const before = (await (await fetch(`${server.url}/stats`)).json()) as any;
    const answers = await Promise.all(
      sentences.map((tokens) => post(`${server.url}/predict`, { sentences: [tokens] })),
    );
    const after = (await (await fetch(`${server.url}/stats`)).json()) as any;
    const requests = after.requests - before.requests;
    const batches = after.batches - before.batches;
    expect(requests).toBe(40);
    expect(batches).toBeLessThan(requests);
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(40 / 16));
    expect(after.maxBatchSeen).toBeGreaterThan(1);
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.body.results[0].entities.map((e: any) => [e.start, e.end, e.label])).toEqual(
        alone[i]!.entities.map((e) => [e.start, e.end, e.label]),
      );
    });
  });

  it('rejects bad JSON and wrong shapes with 400 and a message that says what is wrong', async () => {
    const bad = await post(`${server.url}/predict`, '{"texts": ["a",]}');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('bad_json');
    // V8 names the position for some errors only: then the line and column are given too
    expect(bad.body.message).toMatch(/^request body is not valid JSON( \(line 1, column \d+\))?: Unexpected token/);
    const unterminated = await post(`${server.url}/predict`, '{"texts": ["a"');
    expect(unterminated.status).toBe(400);
    expect(unterminated.body.message).toMatch(/not valid JSON/);
    const cases: Array<[unknown, RegExp]> = [
      [[], /must be a JSON object, got an array/],
      [{}, /exactly one of "texts" or "sentences"/],
      [{ texts: 'EU rejects' }, /"texts" must be an array, got a string/],
      [{ texts: ['ok', 3] }, /texts\[1\] must be a string, got a number/],
      [{ sentences: [['EU', 'rejects'], 'German call'] }, /sentences\[1\] must be an array of token strings/],
      [{ sentences: [['EU', null]] }, /sentences\[0\]\[1\] must be a string, got null/],
      [{ sentences: [['EU', '']] }, /sentences\[0\]\[1\] is an empty string/],
      [{ texts: ['a'], sentences: [['a']] }, /exactly one of/],
      [{ text: 'a' }, /unknown field "text"/],
    ];
    for (const [body, msg] of cases) {
      const r = await post(`${server.url}/predict`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message).toMatch(msg);
    }
    const empty = await post(`${server.url}/predict`, '');
    expect(empty.status).toBe(400);
    const form = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'EU',
    });
    expect(form.status).toBe(415);
    expect(((await form.json()) as any).message).toMatch(/application\/json/);
    const missing = await fetch(`${server.url}/nothing`);
    expect(missing.status).toBe(404);
  });

  it('enforces the size limits with 413', async () => {
    const big = await post(`${server.url}/predict`, { texts: ['x'.repeat(20 * 1024)] });
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('body_too_large');
    expect(big.body.message).toMatch(/larger than the limit of 16384 bytes/);
    const many = await post(`${server.url}/predict`, { texts: Array.from({ length: 51 }, () => 'a') });
    expect(many.status).toBe(413);
    expect(many.body.message).toMatch(/51 items; the limit is 50/);
  });

  it('answers 503 with Retry-After when the queued work is over the token budget', async () => {
    // the first request waits 300 ms for company, so the second finds it queued
    const tight = await startServeServer({
      predictor,
      port: 0,
      batching: { maxQueueTokens: 60, maxBatchTokens: 30, maxWaitMs: 300 },
    });
    try {
      const first = post(`${tight.url}/predict`, { texts: ['EU rejects German call'] });
      await new Promise((r) => setTimeout(r, 50));
      const r = await post(`${tight.url}/predict`, { texts: Array.from({ length: 12 }, () => 'German lamb') });
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('busy');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body.message).toMatch(/tokens of work already queued/);
      // a small request still fits in the share kept for small requests
      const small = post(`${tight.url}/predict`, { texts: ['Paris'] });
      expect((await first).status).toBe(200);
      expect((await small).status).toBe(200);
    } finally {
      await tight.app.close();
    }
  });

  it('restarts a model worker that dies: its requests get 500, later ones are answered', async () => {
    const pool = await loadPredictorInWorker(modelDir, { threads: 1 });
    const srv = await startServeServer({ predictor: pool, port: 0, workers: () => ({ restarts: pool.restarts() }) });
    try {
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
      // a request big enough to be inside the worker when the worker is killed
      const texts = Array.from({ length: 40 }, () =>
        conllDev(30)
          .map((s) => s.tokens.join(' '))
          .join(' '),
      );
      const pending = post(`${srv.url}/predict`, { texts });
      while (srv.batcher.stats().running === 0) await new Promise((r) => setImmediate(r));
      const victim = pool.workers()[0]!;
      // an uncaught error in the worker, thrown between two forward passes (terminate() from outside could
      // land inside onnxruntime's native code, which aborts the whole process)
      victim.postMessage({ id: 0, kind: 'crash', items: [] });
      const r = await pending;
      expect(r.status).toBe(500);
      expect(r.body.error).toBe('model_failed');
      expect(r.body.message).toMatch(/model worker (failed: model worker crashed|exited)/);
      // the replacement loads the model, then answers
      let ok: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 200 && ok?.status !== 200; i++) {
        ok = await post(`${srv.url}/predict`, { texts: ['Peter Blackburn lives in Paris.'] });
        if (ok.status !== 200) await new Promise((res) => setTimeout(res, 100));
      }
      expect(ok!.status).toBe(200);
      expect(pool.restarts()).toBe(1);
      expect(pool.workers()[0]).not.toBe(victim);
      const h = (await (await fetch(`${srv.url}/health`)).json()) as any;
      expect(h).toMatchObject({ status: 'ok', workers: { restarts: 1 } });
    } finally {
      await srv.close();
    }
  }, 60_000);

  it('requires the bearer token when one is set', async () => {
    const none = await post(`${secured.url}/predict`, { texts: ['EU'] });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body.message).toMatch(/Authorization: Bearer/);
    const wrong = await post(
      `${secured.url}/predict`,
      { texts: ['EU'] },
      { authorization: 'Bearer not-the-token-at-all' },
    );
    expect(wrong.status).toBe(401);
    expect((await fetch(`${secured.url}/health`)).status).toBe(401);
    const ok = await post(`${secured.url}/predict`, { texts: ['EU'] }, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
  });

  it('accepts any printable token: spaces, and non-ASCII sent as UTF-8 or latin1', async () => {
    const status = (url: string, auth: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(`${url}/health`);
        const req = http.request(
          { host: u.hostname, port: u.port, path: u.pathname, headers: { authorization: auth } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        req.end();
      });
    // what curl sends for a UTF-8 terminal: the token's UTF-8 bytes (Node writes a header string byte per char)
    const utf8 = (t: string) => Buffer.from(t, 'utf8').toString('latin1');
    for (const token of ['correct horse battery staple', 'pässwörd-ünïcode-12', 'Ωμέγα-токен-密码-0123456789']) {
      const srv = await startServeServer({ predictor, port: 0, token });
      try {
        expect(await status(srv.url, `Bearer ${utf8(token)}`), token).toBe(200);
        expect(await status(srv.url, `Bearer ${utf8(token)}x`), token).toBe(401);
        expect(await status(srv.url, `Bearer ${utf8(token.slice(0, -1))}`), token).toBe(401);
        if (/^[\u0000-\u00ff]*$/.test(token)) {
          // fetch (undici) sends a latin1-representable header as latin1 bytes
          const r = await fetch(`${srv.url}/health`, { headers: { authorization: `Bearer ${token}` } });
          expect(r.status, token).toBe(200);
        }
      } finally {
        await srv.app.close();
      }
    }
  });

  it('refuses, at start and in one line, a token that cannot travel in a header', () => {
    expect(() => checkExposure('127.0.0.1', 'tab\tinside-the-token-1234', 'nerd serve')).toThrow(
      /^nerd serve: the bearer token \(--token\) contains the control character U\+0009 at position 4; use printable characters only$/,
    );
    expect(() => checkExposure('127.0.0.1', ' leading-space-token-1234', 'nerd serve')).toThrow(
      /starts or ends with whitespace/,
    );
    expect(() => checkExposure('127.0.0.1', 'short', 'nerd serve')).toThrow(/at least 16 characters/);
    expect(checkExposure('0.0.0.0', 'correct horse battery staple', 'nerd serve')).toBe('correct horse battery staple');
  });

  it('refuses a non-loopback Host header on a loopback server (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/health', headers: { host: `evil.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('nerd serve command', () => {
  const cli = path.resolve('src/cli.ts');

  function runCli(args: string[], env: Record<string, string> = {}) {
    return spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  it('refuses to listen beyond loopback without a token', async () => {
    const dir = await makeCheckpoint('tiny');
    const child = runCli(['serve', '--model', dir, '--host', '0.0.0.0', '--port', '0'], { NERD_TOKEN: '' });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/--host 0\.0\.0\.0 would expose the server.*--token/);
  }, 60_000);

  it('starts, serves, and stops cleanly on SIGTERM', async () => {
    const dir = await makeCheckpoint('tiny');
    const child = runCli(['serve', '--model', dir, '--port', '0', '--threads', '1']);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
    });
    const r = await post(`${url}/predict`, { texts: ['Peter Blackburn lives in Paris.'] });
    expect(r.status).toBe(200);
    expect(r.body.results[0].tokens).toEqual(['Peter', 'Blackburn', 'lives', 'in', 'Paris', '.']);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r2) => child.on('exit', r2));
    expect(code).toBe(0);
  }, 60_000);
});
