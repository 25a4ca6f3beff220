import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { paramSpecs } from '../../src/student/bert.js';
import { DEFAULT_OPTIMIZER, lrAt } from '../../src/student/optim.js';
import { presetConfig, PRESETS } from '../../src/student/presets.js';
import { Rng } from '../../src/random.js';
import type { Batch, OptimizerState, ParamMap } from '../../src/student/types.js';

const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const config = presetConfig('tiny', { vocabSize: 300, labels, overrides: { max_position_embeddings: 64 } });

function makeBatch(B: number, T: number, seed: number): Batch {
  const n = B * T;
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
  const inputIds = new Int32Array(n);
  const attentionMask = new Int32Array(n);
  const lab = new Int32Array(n).fill(-100);
  for (let b = 0; b < B; b++) {
    const len = T - (b % 3) * 2;
    for (let t = 0; t < len; t++) {
      const i = b * T + t;
      inputIds[i] = 5 + (next() % 290);
      attentionMask[i] = 1;
      if (t > 0 && t < len - 1) lab[i] = inputIds[i]! % labels.length; // learnable: label is a function of the token
    }
  }
  return { batchSize: B, seqLen: T, inputIds, attentionMask, labels: lab };
}

const clone = (p: ParamMap): ParamMap => new Map([...p].map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
const cloneState = (o: OptimizerState): OptimizerState => ({
  step: o.step,
  m: new Map([...o.m].map(([k, v]) => [k, v.slice()])),
  v: new Map([...o.v].map(([k, v]) => [k, v.slice()])),
});
const opt = { ...DEFAULT_OPTIMIZER, lr: 1e-3 };

describe('BertEngine', () => {
  const batch = makeBatch(4, 12, 1);
  let engine: BertEngine;
  beforeAll(async () => {
    engine = await BertEngine.create(config, initParams(config, 42), { seed: 7 });
  });
  afterAll(async () => engine.release());

  it('initialises Hugging Face style, deterministically in the seed', () => {
    const a = initParams(config, 3);
    const b = initParams(config, 3);
    const c = initParams(config, 4);
    const w = 'bert.encoder.layer.0.attention.self.query.weight';
    expect(a.get(w)!.data).toEqual(b.get(w)!.data);
    expect(a.get(w)!.data).not.toEqual(c.get(w)!.data);
    const data = a.get(w)!.data;
    const std = Math.sqrt(data.reduce((s, x) => s + x * x, 0) / data.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect([...a.get('bert.embeddings.LayerNorm.weight')!.data].every((x) => x === 1)).toBe(true);
    expect([...a.get('classifier.bias')!.data].every((x) => x === 0)).toBe(true);
    expect(
      [...a.get('bert.embeddings.word_embeddings.weight')!.data.subarray(0, config.hidden_size)].every((x) => x === 0),
    ).toBe(true); // pad row
    expect(a.get('bert.encoder.layer.1.intermediate.dense.weight')!.shape).toEqual([4 * 128, 128]); // [out, in]
  });

  it('presets have the sizes of issue 3', () => {
    expect(PRESETS.mini).toEqual({ hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4 });
    const base = presetConfig('base', { vocabSize: 28996, labels });
    expect([base.hidden_size, base.num_hidden_layers, base.num_attention_heads, base.intermediate_size]).toEqual([
      768, 12, 12, 3072,
    ]);
    expect(paramSpecs(base).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0)).toBe(
      108_310_272 - (768 * 768 + 768) + (768 * 5 + 5),
    ); // bert-base-cased − pooler (unused by token classification) + classifier
  });

  it('learns: training loss on a small batch falls', async () => {
    const e = await BertEngine.create(config, initParams(config, 1), { seed: 1 });
    const first = (await e.trainStep(batch, 1e-3, opt)).loss;
    let last = first;
    for (let i = 0; i < 30; i++) last = (await e.trainStep(batch, 1e-3, opt)).loss;
    expect(last).toBeLessThan(first * 0.5);
    expect(e.optimizer.step).toBe(31);
    await e.release();
  });

  it('dropout is on in training and off in evaluation; masks are reproducible', async () => {
    const p = initParams(config, 5);
    const a = await BertEngine.create(config, clone(p), { seed: 11 });
    const b = await BertEngine.create(config, clone(p), { seed: 11 });
    const noDrop = (await a.lossAndGradients(batch)).loss;
    const d1 = (await a.lossAndGradients(batch, { dropout: true })).loss;
    expect(d1).not.toBeCloseTo(noDrop, 6);
    expect((await b.lossAndGradients(batch, { dropout: true })).loss).toBe(d1);
    const l1 = await a.logits(batch);
    const l2 = await a.logits(batch);
    expect(l1).toEqual(l2);
    await Promise.all([a.release(), b.release()]);
  });

  it('a run resumed from (params, optimizer state) continues exactly as the uninterrupted run', async () => {
    const p = initParams(config, 9);
    const batches = [makeBatch(4, 12, 2), makeBatch(3, 10, 3), makeBatch(4, 12, 4), makeBatch(2, 8, 5)];
    const full = await BertEngine.create(config, clone(p), { seed: 3 });
    for (const [i, b] of batches.entries()) await full.trainStep(b, lrAt(i, 4, 1, 1e-3), opt);

    const first = await BertEngine.create(config, clone(p), { seed: 3 });
    for (const [i, b] of batches.slice(0, 2).entries()) await first.trainStep(b, lrAt(i, 4, 1, 1e-3), opt);
    const saved = { params: clone(first.params), state: cloneState(first.optimizer) };
    await first.release();
    const resumed = await BertEngine.create(config, saved.params, { seed: 3, optimizerState: saved.state });
    for (const [i, b] of batches.slice(2).entries()) await resumed.trainStep(b, lrAt(i + 2, 4, 1, 1e-3), opt);

    for (const name of full.params.keys())
      expect(resumed.params.get(name)!.data, name).toEqual(full.params.get(name)!.data);
    await Promise.all([full.release(), resumed.release()]);
  });

  it('dropout masks drawn ahead by the worker thread are the ones the step draws itself', async () => {
    const p = initParams(config, 10);
    const b = makeBatch(4, 12, 6);
    const ahead = await BertEngine.create(config, clone(p), { seed: 5 });
    const own = await BertEngine.create(config, clone(p), { seed: 5, maskWorker: false });
    // the worker serves from its first request after it has loaded: step until a step took its masks
    let steps = 0;
    let prefetched = 0;
    while (prefetched < 2 && steps < 200) {
      await ahead.trainStep(b, 1e-3, opt);
      await own.trainStep(b, 1e-3, opt);
      expect(own.lastMasksPrefetched).toBe(false);
      if (ahead.lastMasksPrefetched) prefetched++;
      steps++;
      if (!ahead.lastMasksPrefetched) await new Promise((r) => setTimeout(r, 20));
    }
    expect(prefetched).toBe(2);
    // a batch of another shape: the guess is dropped and the step draws its own masks
    await ahead.trainStep(makeBatch(3, 10, 7), 1e-3, opt);
    await own.trainStep(makeBatch(3, 10, 7), 1e-3, opt);
    expect(ahead.lastMasksPrefetched).toBe(false);
    for (const name of own.params.keys())
      expect(ahead.params.get(name)!.data, name).toEqual(own.params.get(name)!.data);
    await Promise.all([ahead.release(), own.release()]);
  });

  it('parameters are updated in place in the caller’s arrays', async () => {
    const p = initParams(config, 6);
    const w = p.get('classifier.weight')!.data;
    const before = w.slice();
    const e = await BertEngine.create(config, p, {});
    await e.trainStep(batch, 1e-3, opt);
    expect(e.params.get('classifier.weight')!.data).toBe(w);
    expect(w).not.toEqual(before);
    await e.release();
  });

  it('exports an inference model with HF input names and dynamic shapes that reproduces logits()', async () => {
    const bytes = engine.inferenceModel();
    const session = await ort.InferenceSession.create(bytes);
    expect([...session.inputNames].sort()).toEqual(['attention_mask', 'input_ids', 'token_type_ids']);
    expect(session.outputNames).toEqual(['logits']);
    for (const b of [batch, makeBatch(2, 7, 9)]) {
      const n = b.batchSize * b.seqLen;
      const t = (a: Int32Array) =>
        new ort.Tensor(
          'int64',
          BigInt64Array.from(a, (x) => BigInt(x)),
          [b.batchSize, b.seqLen],
        );
      const out = await session.run({
        input_ids: t(b.inputIds),
        attention_mask: t(b.attentionMask),
        token_type_ids: t(new Int32Array(n)),
      });
      expect(out.logits!.dims).toEqual([b.batchSize, b.seqLen, labels.length]);
      const ours = await engine.logits(b);
      const exported = out.logits!.data as Float32Array;
      for (let i = 0; i < ours.length; i++) expect(Math.abs(exported[i]! - ours[i]!)).toBeLessThan(1e-5);
    }
    await session.release();
  });

  it('padding does not change the logits of real tokens', async () => {
    const b1 = makeBatch(1, 8, 4);
    b1.attentionMask.fill(1);
    const padded: Batch = {
      batchSize: 1,
      seqLen: 12,
      inputIds: Int32Array.from([...b1.inputIds, 0, 0, 0, 0]),
      attentionMask: Int32Array.from([...b1.attentionMask, 0, 0, 0, 0]),
    };
    const a = await engine.logits(b1);
    const p = await engine.logits(padded);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - p[i]!)).toBeLessThan(1e-5);
  });
});

describe('seeded dropout masks', () => {
  it('drop a fraction p, scale the rest by 1/(1-p), and depend only on (seed, stream)', () => {
    const a = new Rng(5, 17).dropoutMask(new Float32Array(400_001), 0.1);
    let zeros = 0;
    let bad = 0;
    for (const x of a) {
      if (x === 0) zeros++;
      else if (Math.abs(x - 1 / 0.9) > 1e-6) bad++;
    }
    expect(zeros / a.length).toBeGreaterThan(0.097);
    expect(zeros / a.length).toBeLessThan(0.103);
    expect(bad).toBe(0);
    const again = new Rng(5, 17).dropoutMask(new Float32Array(400_001), 0.1);
    expect(again.every((x, i) => x === a[i])).toBe(true);
    expect(new Rng(5, 18).dropoutMask(new Float32Array(1000), 0.1)).not.toEqual(a.subarray(0, 1000));
  });
});

describe('lrAt (linear warm-up then linear decay, as transformers.get_linear_schedule_with_warmup)', () => {
  it('rises from 0 to peak over warm-up, then falls to 0 at the end', () => {
    expect(lrAt(0, 100, 10, 1)).toBe(0);
    expect(lrAt(5, 100, 10, 1)).toBeCloseTo(0.5);
    expect(lrAt(10, 100, 10, 1)).toBe(1);
    expect(lrAt(55, 100, 10, 1)).toBeCloseTo(0.5);
    expect(lrAt(100, 100, 10, 1)).toBe(0);
    expect(lrAt(120, 100, 10, 1)).toBe(0);
    expect(lrAt(0, 100, 0, 2)).toBe(2);
  });
});
