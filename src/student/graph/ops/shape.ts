/** Reshape and Transpose: gradients move the values back (Reshape to the input's runtime shape, inverse perm). */
import type { Dim, Value } from '../graph.js';

/** Reshape to `shape`, given either as constant ints (ONNX 0 = copy, -1 = infer) or as an int64 tensor;
 * `staticShape` describes the result for shape tracking. */
export function reshape(x: Value, shape: number[] | Value, staticShape: Dim[]): Value {
  const graph = x.graph;
  const shapeT = Array.isArray(shape) ? graph.ints(shape) : shape;
  const [out] = graph.node('Reshape', [x, shapeT], [{ shape: staticShape, dtype: x.dtype }], {}, x.requiresGrad);
  return graph.record([x], out!, (g) => {
    const staticIn = x.shape.every((d) => typeof d === 'number');
    const back = staticIn ? graph.ints(x.shape as number[]) : graph.op1('Shape', [x], [x.rank], 'int64');
    return [reshape(g, back, x.shape)];
  });
}

export function transpose(x: Value, perm: number[]): Value {
  const graph = x.graph;
  const [out] = graph.node(
    'Transpose',
    [x],
    [{ shape: perm.map((p) => x.shape[p]!), dtype: x.dtype }],
    { perm },
    x.requiresGrad,
  );
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return graph.record([x], out!, (g) => [transpose(g, inverse)]);
}
