import { OnnxDataType } from '../onnx.js';
import { broadcastShapes, type Value } from '../graph.js';

/** A zero tensor with x's (runtime) shape and dtype. */
export function zerosLike(x: Value): Value {
  const graph = x.graph;
  const shape = graph.op1('Shape', [x], [x.rank], 'int64');
  const bytes = x.dtype === 'double' ? 8 : 4;
  return graph.op1('ConstantOfShape', [shape], x.shape, x.dtype, {
    value: { tensor: { name: '', dims: [1], data_type: OnnxDataType[x.dtype], raw_data: new Uint8Array(bytes) } },
  });
}

/** Sum over `axes` (keepdims as given), a non-differentiable helper used inside backward functions. */
export function reduceSum(x: Value, axes: number[], keepdims: boolean): Value {
  const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) || axes.includes(i - x.rank) ? 1 : d)) : x.shape.filter((_, i) => !(axes.includes(i) || axes.includes(i - x.rank)));
  return x.graph.op1('ReduceSum', [x, x.graph.ints(axes)], shape, x.dtype, { keepdims: keepdims ? 1 : 0 });
}

/** Plain (unrecorded) binary op, for use inside backward functions. */
export function raw(op: 'Add' | 'Sub' | 'Mul' | 'Div', a: Value, b: Value, shape = broadcastShapes(a.shape, b.shape)): Value {
  return a.graph.op1(op, [a, b], shape, a.dtype);
}
