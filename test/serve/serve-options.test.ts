/**
 * `nerd serve`'s start-up choices and its saturation signal, on a real tiny checkpoint:
 *   - calibration measures the candidate layouts, caches the winner keyed by model and machine, and a second
 *     start reads it from the cache;
 *   - `quantized` serves onnx/model_quantized.onnx (written here by the student's quantizer);
 *   - /health says 503 `degraded` with Retry-After while the queued work is over 90% of its budget.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateLayouts, tuneServe } from '../../src/serve/calibrate.js';
import { loadPredictorInWorker } from '../../src/serve/model.js';
import type { PoolPredictor } from '../../src/serve/pool.js';
import { startServeServer } from '../../src/serve/server.js';
import { quantizeModel } from '../../src/student/quantize.js';
import { tempDir } from './fixtures.js';
import { makeCheckpoint } from './model-fixture.js';

describe('nerd serve options', () => {
  let modelDir: string;
  let cacheHome: string;
  const savedXdg = process.env.XDG_CACHE_HOME;

  beforeAll(async () => {
    modelDir = await makeCheckpoint('tiny');
    cacheHome = tempDir('nerd-serve-cache-');
    process.env.XDG_CACHE_HOME = cacheHome;
  }, 120_000);

  afterAll(() => {
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
  });

  it('lists worker × thread layouts that use every core', () => {
    expect(candidateLayouts(1)).toEqual([
      { workers: 1, threads: 1, batchSize: 8 },
      { workers: 1, threads: 1, batchSize: 32 },
    ]);
    const eight = candidateLayouts(8);
    expect(eight.map((l) => `${l.workers}x${l.threads}`)).toEqual(['8x1', '8x1', '4x2', '4x2', '1x8', '1x8']);
  });

  it('calibrates once, caches the winner by model and machine, and reuses it', async () => {
    const onnx = path.join(modelDir, 'onnx', 'model.onnx');
    const lines: string[] = [];
    const first = await tuneServe(modelDir, onnx, { cores: 1, seconds: 0.1, log: (l) => lines.push(l) });
    expect(first.cached).toBe(false);
    expect(first.tried).toHaveLength(2);
    expect(lines).toHaveLength(2);
    const best = first.tried.reduce((a, b) => (b.sentencesPerSecond > a.sentencesPerSecond ? b : a));
    expect(first).toMatchObject({ workers: best.workers, threads: best.threads, batchSize: best.batchSize, cores: 1 });
    expect(first.sentencesPerSecond).toBeGreaterThan(0);
    const cache = JSON.parse(readFileSync(path.join(cacheHome, 'nerd', 'serve-tuning.json'), 'utf8'));
    const keys = Object.keys(cache);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain(' | 1 | '); // the core count is part of the key
    const again = await tuneServe(modelDir, onnx, { cores: 1, seconds: 0.1, log: (l) => lines.push(l) });
    expect(again).toMatchObject({ cached: true, workers: first.workers, batchSize: first.batchSize });
    expect(lines).toHaveLength(2); // nothing measured the second time
  }, 120_000);

  it('serves the int8 model on request', async () => {
    const dir = path.join(tempDir('nerd-serve-int8-'), 'model');
    cpSync(modelDir, dir, { recursive: true });
    const { bytes } = quantizeModel(readFileSync(path.join(dir, 'onnx', 'model.onnx')));
    writeFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'), bytes);
    const pool = await loadPredictorInWorker(dir, { threads: 1, quantized: true });
    const srv = await startServeServer({ predictor: pool, port: 0 });
    try {
      const h = (await (await fetch(`${srv.url}/health`)).json()) as any;
      expect(h.model.onnx).toBe(path.join('onnx', 'model_quantized.onnx'));
      const r = await fetch(`${srv.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: ['Peter Blackburn lives in Paris.'] }),
      });
      expect(r.status).toBe(200);
      expect(((await r.json()) as any).results[0].tokens).toEqual(['Peter', 'Blackburn', 'lives', 'in', 'Paris', '.']);
    } finally {
      await srv.close();
    }
    await expect(loadPredictorInWorker(modelDir, { threads: 1, quantized: true })).rejects.toThrow(
      /no int8 model here: run `nerd export --quantize int8`/,
    );
  }, 60_000);

  it('reports degraded (503, Retry-After) on /health while the queue is nearly full', async () => {
    const pool: PoolPredictor = await loadPredictorInWorker(modelDir, { threads: 1 });
    // requests wait 400 ms for company, so the queue holds them long enough to look at
    const srv = await startServeServer({
      predictor: pool,
      port: 0,
      batching: { maxQueueTokens: 100, maxBatchTokens: 10_000, maxWaitMs: 400 },
    });
    try {
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
      const pending = fetch(`${srv.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: Array.from({ length: 30 }, () => 'German lamb') }), // 150 estimated tokens
      });
      let h: Response | undefined;
      for (let i = 0; i < 40; i++) {
        h = await fetch(`${srv.url}/health`);
        if (h.status !== 200) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(h!.status).toBe(503);
      expect(Number(h!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await h!.json()) as any;
      expect(body).toMatchObject({
        status: 'degraded',
        reason: expect.stringMatching(/queue \d+ of 100 tokens/),
        queue: { tokens: 150, limitTokens: 100 },
      });
      expect((await pending).status).toBe(200);
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    } finally {
      await srv.close();
    }
  }, 60_000);
});
