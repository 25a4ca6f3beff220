/**
 * `nerd serve` under abusive load, as a real process on 127.0.0.1 (CLI through tsx, tiny model, two
 * single-thread workers so no calibration runs):
 *   - 20 clients each POST 1 MB (50 texts of 20,000 characters) and give up after 3 s; meanwhile a small
 *     /predict must be answered 200 — ASSERTED: before any of the big requests got a 200, and within
 *     5 s of being sent (the design target is ≤ 1 s; 5 s leaves room for a loaded CI machine);
 *   - the server's RSS (VmRSS of the whole process, worker threads included), sampled every 100 ms, grows
 *     by less than RSS_GROWTH_BOUND_MB over its idle footprint (docs/serve-and-review.md: the growth is set by
 *     --max-queue-tokens, default 500,000, not by the number or size of the requests; measured 345 MB on a
 *     quiet machine, 363 MB idle → 708 MB peak);
 *   - after the big clients are gone their work is cancelled: nothing stays queued;
 *   - SIGTERM with a request queued exits (code 0) within the drain deadline (2 s) plus the workers'
 *     last forward pass (asserted < 8 s), and the queued request is answered 503 or its connection closed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conllDev } from './fixtures.js';
import { makeCheckpoint } from './model-fixture.js';

const RSS_GROWTH_BOUND_MB = 450;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** POST with node:http; `giveUpMs` destroys the request (the client goes away) */
function post(
  url: string,
  body: string,
  giveUpMs?: number,
): Promise<{ status: number; at: number; body: string; timing?: string }> {
  return new Promise((resolve) => {
    const u = new URL(`${url}/predict`);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            at: performance.now(),
            body: text,
            timing: res.headers['server-timing'] as string,
          }),
        );
        res.on('error', () => resolve({ status: -1, at: performance.now(), body: text }));
      },
    );
    req.on('error', () => resolve({ status: -1, at: performance.now(), body: '' }));
    if (giveUpMs !== undefined) setTimeout(() => req.destroy(), giveUpMs);
    req.end(body);
  });
}

describe('nerd serve under abusive load', () => {
  let child: ChildProcess;
  let url: string;
  let stderr = '';

  beforeAll(async () => {
    const dir = await makeCheckpoint('tiny');
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve('src/cli.ts'),
        'serve',
        '--model',
        dir,
        '--port',
        '0',
        '--workers',
        '2',
        '--threads',
        '1',
        '--drain-timeout',
        '2',
        '--request-timeout',
        '20',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr!.on('data', (d) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (c) => reject(new Error(`nerd serve exited ${c}: ${out} ${stderr}`)));
    });
  }, 120_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('answers a small request before twenty 1 MB requests, with bounded RSS, and cancels abandoned work', async () => {
    // 20,000 characters of real sentences
    let long = '';
    for (const s of conllDev(2000, 4)) {
      if (long.length >= 20_000) break;
      long += `${s.tokens.join(' ')} `;
    }
    long = long.slice(0, 20_000);
    const big = JSON.stringify({ texts: Array.from({ length: 50 }, () => long) });
    expect(big.length).toBeGreaterThan(1_000_000);

    // the server's own footprint (model sessions, worker threads, tsx) before the load: the bound is on growth
    const baseline = rssMb(child.pid!);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 100);
    const t0 = performance.now();
    const bigs = Array.from({ length: 20 }, () => post(url, big, 3000));
    // the small request goes out once big requests are queued and computing
    let before: any;
    for (let i = 0; i < 100; i++) {
      before = await (await fetch(`${url}/stats`)).json();
      if (before.activeRequests > 0 && before.running > 0 && before.queuedTokens > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(before).toMatchObject({ activeRequests: expect.any(Number), running: expect.any(Number) });
    expect(before.queuedTokens).toBeGreaterThan(100_000);
    const sent = performance.now();
    const small = await post(url, JSON.stringify({ texts: ['Peter Blackburn lives in Paris.'] }));
    const smallMs = small.at - sent;
    const health = await fetch(`${url}/health`);
    const h = (await health.json()) as any;
    const answers = await Promise.all(bigs);
    // give the server a moment to notice the closed connections, then look at its queue
    let st: any;
    for (let i = 0; i < 50; i++) {
      st = await (await fetch(`${url}/stats`)).json();
      if (st.queuedTokens === 0 && st.activeRequests === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(child.pid!));
    const statuses = answers.map((a) => a.status);
    process.stderr.write(
      `serve-load: queue when the small one was sent ${JSON.stringify(before)}; small answered in ${smallMs.toFixed(0)} ms (${small.timing}); big statuses ${JSON.stringify(statuses)}; ` +
        `RSS ${baseline.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; health ${health.status} ${JSON.stringify(h.queue)}; stats ${JSON.stringify(st)}; ` +
        `total ${(performance.now() - t0).toFixed(0)} ms\n`,
    );

    expect(small.status).toBe(200);
    expect(JSON.parse(small.body).results[0].tokens).toEqual(['Peter', 'Blackburn', 'lives', 'in', 'Paris', '.']);
    expect(smallMs).toBeLessThan(5000);
    for (const a of answers) if (a.status === 200) expect(a.at).toBeGreaterThan(small.at);
    // the big ones were refused (503, budget) or abandoned by their clients (-1): none was computed in full
    expect(statuses.every((s) => s === 503 || s === -1)).toBe(true);
    // the queue's token budget refused some (their clients may have left before reading the 503)
    expect(st.rejectedBusy).toBeGreaterThan(0);
    // /health answered during the load with the queue's depth and age
    expect([200, 503]).toContain(health.status);
    expect(h.queue).toMatchObject({
      tokens: expect.any(Number),
      oldestMs: expect.any(Number),
      requests: expect.any(Number),
    });
    // work of the clients that left was cancelled
    expect(st).toMatchObject({ queuedTokens: 0, activeRequests: 0 });
    expect(st.cancelled).toBeGreaterThan(0);
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_BOUND_MB);
  }, 60_000);

  it('on SIGTERM drains for at most --drain-timeout, answers what is left 503, and exits 0', async () => {
    const text = 'Peter Blackburn lives in Paris . '.repeat(600);
    const waiting = Array.from({ length: 4 }, () =>
      post(url, JSON.stringify({ texts: Array.from({ length: 50 }, () => text) })),
    );
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      child.once('exit', (c, sig) => r([c, sig])),
    );
    const exitMs = performance.now() - t0;
    const answers = await Promise.all(waiting);
    process.stderr.write(
      `serve-load: exit ${code ?? signal} after ${exitMs.toFixed(0)} ms; statuses ${answers.map((a) => a.status)}\n${stderr}\n`,
    );
    expect(code).toBe(0);
    // drain deadline 2 s, then each worker stops after its current forward pass (the command's own
    // backstop exits 1 at deadline + 5 s, which would fail the exit-code check above)
    expect(exitMs).toBeLessThan(8000);
    for (const a of answers) expect([200, 503, -1]).toContain(a.status);
    expect(answers.some((a) => a.status === 503 && /shutting_down|shut down/.test(a.body))).toBe(true);
    expect(stderr).toMatch(/drain deadline reached/);
  }, 30_000);
});
