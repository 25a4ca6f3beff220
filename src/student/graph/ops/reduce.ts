/** Sum of all elements (a scalar); its gradient broadcasts the output gradient back to x's shape. */
import type { Value } from '../graph.js';

export function sumAll(x: Value): Value {
  const graph = x.graph;
  const [out] = graph.node('ReduceSum', [x], [{ shape: [], dtype: x.dtype }], { keepdims: 0 }, x.requiresGrad);
  return graph.record([x], out!, (g) => [
    graph.op1('Expand', [g, graph.op1('Shape', [x], [x.rank], 'int64')], x.shape, x.dtype),
  ]);
}
