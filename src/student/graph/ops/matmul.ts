/** MatMul (batched, broadcasting) and Linear (Gemm with a Hugging Face [out, in] weight). */
import { broadcastShapes, type Dim, type Value } from '../graph.js';
import { unbroadcast } from './elementwise.js';
import { transpose } from './shape.js';

function swapLast2(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!];
  return transpose(x, perm);
}

/** Batched matrix product a[..., M, K] @ b[..., K, N] (ranks ≥ 2). */
export function matmul(a: Value, b: Value): Value {
  const graph = a.graph;
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape: Dim[] = [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!];
  const [out] = graph.node('MatMul', [a, b], [{ shape, dtype: a.dtype }], {}, a.requiresGrad || b.requiresGrad);
  return graph.record([a, b], out!, (g, [na, nb]) => [
    na ? unbroadcast(matmul(g, swapLast2(b)), a) : null,
    nb ? unbroadcast(matmul(swapLast2(a), g), b) : null,
  ]);
}

/**
 * y = x Wᵀ + b for x[N, in], W[out, in] (Hugging Face / PyTorch Linear layout), b[out]: one Gemm with transB,
 * so the weight is never transposed in memory. Gradients: dx = g W, dW = gᵀ x, db = Σ_rows g.
 */
export function linear(x: Value, w: Value, b: Value | null): Value {
  const graph = x.graph;
  if (x.rank !== 2 || w.rank !== 2) throw new Error('linear expects x[N, in] and W[out, in]');
  const inputs = b ? [x, w, b] : [x, w];
  const req = inputs.some((v) => v.requiresGrad);
  const [out] = graph.node('Gemm', inputs, [{ shape: [x.shape[0]!, w.shape[0]!], dtype: x.dtype }], { transB: 1 }, req);
  return graph.record(inputs, out!, (g, [nx, nw, nb]) => [
    nx ? graph.node('Gemm', [g, w], [{ shape: x.shape, dtype: x.dtype }], {}, g.requiresGrad)[0]! : null,
    nw ? graph.node('Gemm', [g, x], [{ shape: w.shape, dtype: x.dtype }], { transA: 1 })[0]! : null,
    nb ? graph.op1('ReduceSum', [g, graph.ints([0])], b!.shape, x.dtype, { keepdims: 0 }) : null,
  ]);
}
