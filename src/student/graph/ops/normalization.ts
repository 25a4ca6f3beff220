/** LayerNormalization over the last axis (ONNX opset 17 op), with its analytic gradient. */
import type { Graph, Value } from '../graph.js';
import { raw, sumRows } from './util.js';

/**
 * y = (x - mean) / sqrt(var + eps) * gamma + beta. Forward asks the op for Mean and InvStdDev too, so the
 * backward reuses them: with x̂ = (x-μ)·r and ĝ = g·γ,
 *   dx = r · (ĝ - mean(ĝ) - x̂ · mean(ĝ·x̂)),  dγ = Σ g·x̂,  dβ = Σ g   (sums over all but the last axis).
 */
export function layerNorm(x: Value, gamma: Value, beta: Value, eps: number): Value {
  const graph = x.graph;
  const statShape = [...x.shape.slice(0, -1), 1];
  const req = x.requiresGrad || gamma.requiresGrad || beta.requiresGrad;
  const [y, mean, invStd] = graph.node(
    'LayerNormalization',
    [x, gamma, beta],
    [
      { shape: x.shape, dtype: x.dtype },
      { shape: statShape, dtype: x.dtype },
      { shape: statShape, dtype: x.dtype },
    ],
    { axis: -1, epsilon: { float: eps }, stash_type: 1 },
    req,
  );
  return graph.record([x, gamma, beta], y!, (g, [nx, ng, nb]) => {
    let mu = mean!;
    let r = invStd!;
    if (x.dtype !== 'float') {
      // onnxruntime computes the statistics in float32 only (stash_type 1); in float64 graphs (gradient
      // checks) recompute them at full precision instead.
      mu = graph.op1('ReduceMean', [x], statShape, x.dtype, { axes: [-1], keepdims: 1 });
      const centered = raw('Sub', x, mu);
      const variance = graph.op1('ReduceMean', [raw('Mul', centered, centered)], statShape, x.dtype, {
        axes: [-1],
        keepdims: 1,
      });
      r = graph.op1(
        'Reciprocal',
        [graph.op1('Sqrt', [raw('Add', variance, graph.scalar(eps, x.dtype))], statShape, x.dtype)],
        statShape,
        x.dtype,
      );
    }
    // x̂ by the LayerNormalization kernel itself (γ = 1, β = 0): one pass over x instead of Sub and Mul
    const H = x.shape[x.rank - 1];
    const xhat =
      x.dtype === 'float' && typeof H === 'number'
        ? graph.op1('LayerNormalization', [x, unitRow(graph, H, 1), unitRow(graph, H, 0)], x.shape, x.dtype, {
            axis: -1,
            epsilon: { float: eps },
            stash_type: 1,
          })
        : raw('Mul', raw('Sub', x, mu), r);
    let gx: Value | null = null;
    if (nx) {
      const gh = raw('Mul', g, gamma);
      const meanG = graph.op1('ReduceMean', [gh], statShape, x.dtype, { axes: [-1], keepdims: 1 });
      const meanGX = graph.op1('ReduceMean', [raw('Mul', gh, xhat)], statShape, x.dtype, { axes: [-1], keepdims: 1 });
      gx = raw('Mul', raw('Sub', raw('Sub', gh, meanG), raw('Mul', xhat, meanGX)), r);
    }
    return [gx, ng ? sumRows(raw('Mul', g, xhat)) : null, nb ? sumRows(g) : null];
  });
}

/** a float [n] constant of `value`, shared by the graph's layer norms */
function unitRow(graph: Graph, n: number, value: number): Value {
  const key = `unitRow:${n}:${value}`;
  let v = graph.shared.get(key);
  if (!v) {
    v = graph.initializer(graph.fresh('unit'), [n], 'float', new Float32Array(n).fill(value));
    graph.shared.set(key, v);
  }
  return v;
}
