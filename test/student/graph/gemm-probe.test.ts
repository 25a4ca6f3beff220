/** matmulProbe: the products of a graph alone, with their FLOPs, runnable by onnxruntime. */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, gradients, linear, matmul, matmulProbe, sumAll } from '../../../src/student/graph/index.js';

describe('matmulProbe', () => {
  it('copies every Gemm/MatMul/FusedMatMul of a training graph with its shapes, and counts 2·M·N·K each', async () => {
    const g = new Graph('float', true);
    const x = g.input('x', ['N', 4], 'float');
    const w = g.input('w', [3, 4], 'float', true);
    const a = g.input('a', ['B', 2, 5, 6], 'float', true);
    const b = g.input('b', ['B', 2, 7, 6], 'float', true);
    const loss = g.op1('Add', [sumAll(linear(x, w, null)), sumAll(matmul(a, b, { transB: true }))], []);
    // the Add above is not recorded: differentiate each term's graph through its own sum
    const grads = gradients(g, sumAll(linear(x, w, null)), [w]);
    gradients(g, sumAll(matmul(a, b, { transB: true })), [a, b]);
    g.output(loss, 'loss');
    g.output(grads[0]!, 'gw');
    const probe = matmulProbe(g, { N: 8, B: 3 });
    // forward: 2 Gemms [8,4]x[3,4]ᵀ (one per linear call) + 2 FusedMatMuls [3,2,5,6]x[3,2,7,6]ᵀ;
    // backward: dW = gᵀx [3,8]x[8,4] (2·3·4·8), dA = g b [5,7]x[7,6] and dB = gᵀ a [7,5]x[5,6] per batch
    const gemm = 2 * 8 * 3 * 4;
    const bmm = 2 * 6 * 5 * 7 * 6;
    expect(probe.nodes).toBe(2 + 2 + 1 + 2);
    expect(probe.flops).toBe(2 * gemm + 2 * bmm + gemm + 2 * bmm);
    const session = await ort.InferenceSession.create(probe.model);
    const feeds: Record<string, ort.Tensor> = {};
    for (const inp of probe.inputs)
      feeds[inp.name] = new ort.Tensor(
        'float32',
        new Float32Array(inp.shape.reduce((p, d) => p * d, 1)).fill(1),
        inp.shape,
      );
    const out = await session.run(feeds);
    // each output is the first element of its product: with all-ones operands, that is K (dA: K = 7, dB: K = 5)
    expect(
      Object.values(out)
        .map((t) => Number(t.data[0]))
        .sort((p, q) => p - q),
    ).toEqual([4, 4, 5, 6, 6, 7, 8]);
    await session.release();
  });
});
