/**
 * Parity with PyTorch: the fixture (scripts/parity_fixture.py, PyTorch 1.13 in float64) holds a tiny random
 * BERT, a padded batch with ignored labels, and PyTorch's loss, logits and parameter gradients. Our engine
 * (float32, onnxruntime) must match: loss and logits to 1e-5 relative, gradients to 1e-4.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEngine } from '../../src/student/engine.js';
import { paramSpecs } from '../../src/student/bert.js';
import type { Batch, BertConfig, ParamMap } from '../../src/student/types.js';

interface Fixture {
  config: BertConfig;
  batch: {
    batchSize: number;
    seqLen: number;
    inputIds: number[];
    attentionMask: number[];
    tokenTypeIds: number[];
    labels: number[];
    weights: number[];
  };
  loss: number;
  weightedLoss: number;
  logits: number[];
  adamw: {
    lr: number;
    weight_decay: number;
    betas: [number, number];
    eps: number;
    max_grad_norm: number;
    grad_norms: number[];
    losses: number[];
  };
  tensors: { kind: 'param' | 'grad' | 'after2steps'; name: string; shape: number[]; offset: number }[];
}

const dir = new URL('./fixtures/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('parity.json', dir), 'utf8')) as Fixture;
const bin = readFileSync(new URL('parity.bin', dir));
const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const tensor = (t: Fixture['tensors'][number]) => floats.slice(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1));

const params: ParamMap = new Map(
  fixture.tensors.filter((t) => t.kind === 'param').map((t) => [t.name, { shape: t.shape, data: tensor(t) }]),
);
const torchGrads = new Map(fixture.tensors.filter((t) => t.kind === 'grad').map((t) => [t.name, tensor(t)]));
const torchAfter = new Map(fixture.tensors.filter((t) => t.kind === 'after2steps').map((t) => [t.name, tensor(t)]));
const copyParams = (): ParamMap => new Map([...params].map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
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
    engine = await BertEngine.create(fixture.config, copyParams(), { threads: 1 });
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

  it('two training steps (clip to norm 1 + AdamW, decay except biases/LayerNorm) match torch.optim.AdamW', async () => {
    const a = fixture.adamw;
    const trainer = await BertEngine.create(fixture.config, copyParams(), { threads: 1 });
    const opt = {
      lr: a.lr,
      weightDecay: a.weight_decay,
      beta1: a.betas[0],
      beta2: a.betas[1],
      eps: a.eps,
      maxGradNorm: a.max_grad_norm,
    };
    for (let step = 0; step < 2; step++) {
      const r = await trainer.trainStep(batch, a.lr, opt);
      expect(Math.abs(r.loss - a.losses[step]!) / a.losses[step]!, `loss at step ${step}`).toBeLessThan(1e-5);
      expect(
        Math.abs(r.gradNorm - a.grad_norms[step]!) / a.grad_norms[step]!,
        `grad norm at step ${step}`,
      ).toBeLessThan(1e-5);
    }
    expect(trainer.optimizer.step).toBe(2);
    // The attention key biases are left out: their true gradient is exactly 0, so Adam's normalised update
    // turns float32 round-off (1e-9) into a step of ~lr/10 where float64 PyTorch takes none.
    for (const spec of paramSpecs(fixture.config)) {
      if (spec.name.endsWith('attention.self.key.bias')) continue;
      const ours = trainer.params.get(spec.name)!.data;
      expect(relErr(ours, torchAfter.get(spec.name)!), spec.name).toBeLessThan(1e-4);
    }
    await trainer.release();
  });
});
