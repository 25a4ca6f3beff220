import { describe, expect, it } from 'vitest';
import {
  add,
  div,
  dropout,
  embedding,
  gelu,
  geluScaled,
  layerNorm,
  linear,
  matmul,
  mul,
  neg,
  reshape,
  softmax,
  softmaxCrossEntropy,
  softmaxDropout,
  sparseSoftmaxCrossEntropy,
  sub,
  transpose,
} from '../../../src/student/graph/index.js';
import { buildMlmLoss, mlmHeadSpecs } from '../../../src/student/mlm-head.js';
import type { BertConfig } from '../../../src/student/types.js';
import { gradCheck, rand } from './gradcheck.js';
import type { Value } from '../../../src/student/graph/index.js';

const DOUBLE_TOL = 1e-6;

describe('op gradients match finite differences (float64 unless noted)', () => {
  it('Add / Sub / Mul / Div with broadcasting', async () => {
    const ins = [
      { name: 'a', shape: [2, 3, 4], data: rand(24, 1) },
      { name: 'b', shape: [3, 1], data: rand(3, 2, 0.5, 1.5) },
      { name: 'c', shape: [4], data: rand(4, 3, 0.5, 1.5) },
    ];
    for (const f of [add, sub, mul, div]) {
      const r = await gradCheck(ins, ([a, b, c]) => f(f(a!, b!), neg(c!)));
      expect(r.maxRelErr, `${f.name}: ${r.worst}`).toBeLessThan(DOUBLE_TOL);
    }
  });

  it('MatMul, batched and broadcasting a 2-D right operand', async () => {
    const r = await gradCheck(
      [
        { name: 'a', shape: [2, 2, 3, 4], data: rand(48, 4) },
        { name: 'b', shape: [2, 2, 4, 2], data: rand(32, 5) },
        { name: 'w', shape: [2, 3], data: rand(6, 6) },
      ],
      ([a, b, w]) => matmul(matmul(a!, b!), w!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('MatMul with transposed operands and a scale factor (Transpose + MatMul in float64; FusedMatMul in float32)', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const K = ta ? 3 : 4; // a is [2, 3, 4]; op(a) is [2, 3, 4] or [2, 4, 3]
      const ins = [
        { name: 'a', shape: [2, 3, 4], data: rand(24, 21) },
        { name: 'b', shape: tb ? [2, 5, K] : [2, K, 5], data: rand(10 * K, 22) },
      ];
      const build = ([x, y]: Value[]) => matmul(x!, y!, { transA: ta, transB: tb, alpha: 0.7 });
      const r64 = await gradCheck(ins, build);
      expect(r64.maxRelErr, `transA=${ta} transB=${tb}: ${r64.worst}`).toBeLessThan(DOUBLE_TOL);
      const r32 = await gradCheck(ins, build, { dtype: 'float', eps: 1e-2, contribOps: true });
      expect(r32.maxRelErr, `FusedMatMul transA=${ta} transB=${tb}: ${r32.worst}`).toBeLessThan(2e-3);
    }
  });

  it('attention-shaped products (gradients via the (Zᵀ X)ᵀ route for a large left operand)', async () => {
    const ins = [
      { name: 'q', shape: [2, 6, 2], data: rand(24, 31) },
      { name: 'k', shape: [2, 6, 2], data: rand(24, 32) },
      { name: 'v', shape: [2, 6, 2], data: rand(24, 33) },
    ];
    const build = ([q, k, v]: Value[]) => matmul(softmax(matmul(q!, k!, { transB: true, alpha: 0.5 })), v!);
    const r64 = await gradCheck(ins, build);
    expect(r64.maxRelErr, r64.worst).toBeLessThan(DOUBLE_TOL);
    const r32 = await gradCheck(ins, build, { dtype: 'float', eps: 1e-2, contribOps: true });
    expect(r32.maxRelErr, r32.worst).toBeLessThan(2e-3);
  });

  it('Linear (Gemm with an [out, in] weight and bias)', async () => {
    const r = await gradCheck(
      [
        { name: 'x', shape: [5, 4], data: rand(20, 7) },
        { name: 'w', shape: [3, 4], data: rand(12, 8) },
        { name: 'b', shape: [3], data: rand(3, 9) },
      ],
      ([x, w, b]) => linear(x!, w!, b!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('Linear with the product and the bias scaled inside the Gemm (alpha, beta)', async () => {
    const r = await gradCheck(
      [
        { name: 'x', shape: [5, 4], data: rand(20, 7) },
        { name: 'w', shape: [3, 4], data: rand(12, 8) },
        { name: 'b', shape: [3], data: rand(3, 9) },
      ],
      ([x, w, b]) => linear(x!, w!, b!, { alpha: 0.7, beta: 0.3 }),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('Reshape and Transpose', async () => {
    const r = await gradCheck([{ name: 'x', shape: [2, 6], data: rand(12, 10) }], ([x]) =>
      transpose(reshape(x!, [2, 3, 2], [2, 3, 2]), [2, 0, 1]),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('Gather (embedding) with repeated ids scatter-adds its gradient', async () => {
    const r = await gradCheck(
      [
        { name: 'table', shape: [5, 3], data: rand(15, 11) },
        { name: 'ids', shape: [2, 3], data: [1, 4, 1, 0, 1, 3], dtype: 'int64' },
      ],
      ([t, ids]) => embedding(t!, ids!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('LayerNormalization', async () => {
    const r = await gradCheck(
      [
        { name: 'x', shape: [2, 3, 5], data: rand(30, 12, -2, 2) },
        { name: 'gamma', shape: [5], data: rand(5, 13, 0.5, 1.5) },
        { name: 'beta', shape: [5], data: rand(5, 14) },
      ],
      ([x, g, b]) => layerNorm(x!, g!, b!, 1e-12),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('LayerNormalization in float32 (x̂ recomputed by the LayerNormalization kernel)', async () => {
    const r = await gradCheck(
      [
        { name: 'x', shape: [3, 8], data: rand(24, 12, -2, 2) },
        { name: 'gamma', shape: [8], data: rand(8, 13, 0.5, 1.5) },
        { name: 'beta', shape: [8], data: rand(8, 14) },
      ],
      ([x, g, b]) => layerNorm(x!, g!, b!, 1e-12),
      { dtype: 'float', eps: 1e-2 },
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(3e-3);
  });

  it('dropout(softmax(x)) fused: the same gradient as the two ops apart', async () => {
    const ins = [
      { name: 'x', shape: [2, 2, 4], data: rand(16, 15, -2, 2) },
      { name: 'maskBias', shape: [2, 1, 4], data: [0, 0, 0, -1e9, 0, 0, -1e9, -1e9], grad: false },
      {
        name: 'mask',
        shape: [2, 2, 4],
        data: [0, 1.25, 1.25, 1.25, 1.25, 0, 1.25, 0, 1.25, 1.25, 0, 1.25, 0, 0, 1.25, 1.25],
        grad: false,
      },
    ];
    const fused = await gradCheck(ins, ([x, b, m]) => softmaxDropout(add(x!, b!), m!));
    expect(fused.maxRelErr, fused.worst).toBeLessThan(DOUBLE_TOL);
    // and the op is exactly dropout ∘ softmax (values and gradients)
    const apart = await gradCheck(ins, ([x, b, m]) => dropout(softmax(add(x!, b!)), m!));
    expect(fused.loss).toBeCloseTo(apart.loss, 12);
    fused.grads.get('x')!.forEach((g, i) => expect(g).toBeCloseTo(apart.grads.get('x')![i]!, 12));
  });

  it('geluScaled(u) = √2·gelu(√2·u), float32', async () => {
    const data = rand(12, 16, -2, 2);
    const r = await gradCheck([{ name: 'u', shape: [12], data }], ([u]) => geluScaled(u!), {
      dtype: 'float',
      eps: 1e-2,
    });
    expect(r.maxRelErr, r.worst).toBeLessThan(2e-3);
    const g = await gradCheck([{ name: 'x', shape: [12], data: data.map((u) => u * Math.SQRT2) }], ([x]) => gelu(x!), {
      dtype: 'float',
      eps: 1e-2,
    });
    expect(r.loss).toBeCloseTo(Math.SQRT2 * g.loss, 4);
  });

  it('Softmax over the last axis, with an additive attention mask', async () => {
    const r = await gradCheck(
      [
        { name: 'x', shape: [2, 2, 4], data: rand(16, 15, -2, 2) },
        { name: 'maskBias', shape: [2, 1, 4], data: [0, 0, 0, -1e9, 0, 0, -1e9, -1e9], grad: false },
      ],
      ([x, m]) => softmax(add(x!, m!)),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('GELU (erf form; float32 because onnxruntime has no float64 Erf)', async () => {
    const r = await gradCheck([{ name: 'x', shape: [12], data: rand(12, 16, -3, 3) }], ([x]) => gelu(x!), {
      dtype: 'float',
      eps: 1e-2,
    });
    expect(r.maxRelErr, r.worst).toBeLessThan(2e-3);
  });

  it('Dropout applies its mask forward and backward', async () => {
    const mask = [0, 1.25, 1.25, 0, 1.25, 1.25];
    const r = await gradCheck(
      [
        { name: 'x', shape: [2, 3], data: rand(6, 17) },
        { name: 'mask', shape: [2, 3], data: mask, grad: false },
      ],
      ([x, m]) => dropout(x!, m!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('softmax cross-entropy with ignored positions and per-token weights', async () => {
    const r = await gradCheck(
      [
        { name: 'z', shape: [4, 3], data: rand(12, 18, -2, 2) },
        { name: 'labels', shape: [4], data: [2, -100, 0, 1], dtype: 'int64' },
        { name: 'w', shape: [4], data: [1, 1, 0.5, 2], grad: false },
      ],
      ([z, y, w]) => softmaxCrossEntropy(z!, y!, w!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('sparse softmax cross-entropy (the masked-LM loss over a large vocabulary), repeated labels included', async () => {
    const r = await gradCheck(
      [
        { name: 'z', shape: [4, 5], data: rand(20, 19, -2, 2) },
        { name: 'labels', shape: [4], data: [2, 4, 0, 2], dtype: 'int64' },
      ],
      ([z, y]) => sparseSoftmaxCrossEntropy(z!, y!),
    );
    expect(r.maxRelErr, r.worst).toBeLessThan(DOUBLE_TOL);
  });

  it('the masked-LM head: gather masked rows, transform, tied decoder, loss (every parameter, the tied embedding too)', async () => {
    const config = { hidden_size: 4, vocab_size: 6, layer_norm_eps: 1e-5 } as BertConfig;
    const specs = mlmHeadSpecs(config);
    const ins = [
      { name: 'h', shape: [5, 4], data: rand(20, 40) },
      { name: 'positions', shape: [3], data: [4, 1, 2], dtype: 'int64' as const },
      { name: 'labels', shape: [3], data: [5, 0, 3], dtype: 'int64' as const },
      { name: 'bert.embeddings.word_embeddings.weight', shape: [6, 4], data: rand(24, 41) },
      ...specs.map((s, i) => ({
        name: s.name,
        shape: s.shape,
        data: rand(
          s.shape.reduce((a, b) => a * b, 1),
          50 + i,
          s.init === 'ones' ? 0.5 : -1,
          s.init === 'ones' ? 1.5 : 1,
        ),
      })),
    ];
    const r = await gradCheck(
      ins,
      ([h, pos, lab, ...params]) => {
        const p = new Map(ins.slice(3).map((x, i) => [x.name, params[i]!]));
        return buildMlmLoss(config, p, h!, pos!, lab!);
      },
      { dtype: 'float', eps: 1e-2 },
    ); // float32: onnxruntime has no float64 Erf (GELU)
    expect(r.maxRelErr, r.worst).toBeLessThan(2e-3);
  });
});
