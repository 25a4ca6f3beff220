/**
 * Parity with PyTorch: the fixture (scripts/parity_fixture.py, PyTorch 1.13 in float64) holds a tiny random
 * BERT, a padded batch with ignored labels, and PyTorch's loss, logits and parameter gradients. Our engine
 * (float32, onnxruntime) must match: loss and logits to 1e-5 relative, gradients to 1e-4.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEngine } from '../../src/student/engine.js';
import type { Batch, BertConfig, ParamMap } from '../../src/student/types.js';

interface Fixture {
  config: BertConfig;
  batch: { batchSize: number; seqLen: number; inputIds: number[]; attentionMask: number[]; tokenTypeIds: number[]; labels: number[]; weights: number[] };
  loss: number;
  weightedLoss: number;
  logits: number[];
  tensors: { kind: 'param' | 'grad'; name: string; shape: number[]; offset: number }[];
}

const dir = new URL('./fixtures/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('parity.json', dir), 'utf8')) as Fixture;
const bin = readFileSync(new URL('parity.bin', dir));
const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const tensor = (t: Fixture['tensors'][number]) => floats.slice(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1));

const params: ParamMap = new Map(fixture.tensors.filter((t) => t.kind === 'param').map((t) => [t.name, { shape: t.shape, data: tensor(t) }]));
const torchGrads = new Map(fixture.tensors.filter((t) => t.kind === 'grad').map((t) => [t.name, tensor(t)]));
const fb = fixture.batch;
const batch: Batch = {
  batchSize: fb.batchSize,
  seqLen: fb.seqLen,
  inputIds: Int32Array.from(fb.inputIds),
  attentionMask: Int32Array.from(fb.attentionMask),
  tokenTypeIds: Int32Array.from(fb.tokenTypeIds),
  labels: Int32Array.from(fb.labels),
};

/** max |a − b| / max(max |b|, floor) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-30): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, floor);
}

describe('parity with PyTorch (tiny BERT fixture, dropout 0)', () => {
  let engine: BertEngine;
  beforeAll(async () => {
    engine = await BertEngine.create(fixture.config, params, { threads: 1 });
  });
  afterAll(async () => engine.release());

  it('has every parameter of the fixture, with Hugging Face names', () => {
    expect([...params.keys()].sort()).toEqual([...torchGrads.keys()].sort());
    expect(params.has('bert.encoder.layer.1.attention.output.LayerNorm.weight')).toBe(true);
  });

  it('logits match to 1e-5 relative', async () => {
    const logits = await engine.logits(batch);
    expect(logits.length).toBe(fixture.logits.length);
    expect(relErr(logits, fixture.logits)).toBeLessThan(1e-5);
  });

  it('loss matches to 1e-5 relative, and every gradient to 1e-4', async () => {
    const { loss, grads } = await engine.lossAndGradients(batch);
    expect(Math.abs(loss - fixture.loss) / fixture.loss).toBeLessThan(1e-5);
    // The attention key biases' true gradient is exactly 0 (softmax ignores a per-query constant), so each
    // tensor's error is taken relative to its own largest gradient, floored at 1e-3 × the largest of all.
    let globalScale = 0;
    for (const ref of torchGrads.values()) for (const x of ref) globalScale = Math.max(globalScale, Math.abs(x));
    const worst: [string, number][] = [];
    for (const [name, ref] of torchGrads) {
      const ours = grads.get(name)!;
      expect(ours.length, name).toBe(ref.length);
      worst.push([name, relErr(ours, ref, 1e-3 * globalScale)]);
    }
    worst.sort((a, b) => b[1] - a[1]);
    expect(worst[0]![1], `worst: ${worst[0]![0]}`).toBeLessThan(1e-4);
  });

  it('per-token weighted loss matches', async () => {
    const { loss } = await engine.lossAndGradients({ ...batch, weights: Float32Array.from(fb.weights) });
    expect(Math.abs(loss - fixture.weightedLoss) / fixture.weightedLoss).toBeLessThan(1e-5);
  });
});
