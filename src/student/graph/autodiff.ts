/**
 * Reverse-mode automatic differentiation over a Graph's tape: seeds d(loss)/d(loss) = 1, walks the recorded
 * ops from last to first, asks each op for its inputs' gradients (emitted as more ONNX nodes) and sums
 * gradients reaching the same value.
 */
import { add } from './ops/elementwise.js';
import type { Graph, Value } from './graph.js';

/** Appends the backward pass for scalar `loss`; returns d(loss)/d(w) for each requested value, in order.
 * A value the loss does not depend on gets a zero gradient of its shape. */
export function gradients(graph: Graph, loss: Value, wrt: Value[]): Value[] {
  if (loss.shape.length !== 0) throw new Error(`loss must be a scalar, got shape [${loss.shape}]`);
  const grads = new Map<string, Value>();
  grads.set(loss.name, graph.scalar(1, loss.dtype));
  const accumulate = (v: Value, g: Value) => {
    const prev = grads.get(v.name);
    grads.set(v.name, prev ? add(prev, g) : g);
  };
  for (let i = graph.tape.length - 1; i >= 0; i--) {
    const entry = graph.tape[i]!;
    const gOut = grads.get(entry.output.name);
    if (!gOut) continue;
    const needs = entry.inputs.map((x) => x.requiresGrad);
    const gIns = entry.backward(gOut, needs);
    entry.inputs.forEach((x, j) => {
      const g = gIns[j];
      if (needs[j] && g) accumulate(x, g);
    });
  }
  return wrt.map((w) => {
    const g = grads.get(w.name);
    if (g) return g;
    const shape = graph.op1('Shape', [w], [w.rank], 'int64');
    return graph.op1('ConstantOfShape', [shape], w.shape, w.dtype, {
      value: {
        tensor: {
          name: '',
          dims: [1],
          data_type: w.dtype === 'double' ? 11 : 1,
          raw_data: new Uint8Array(w.dtype === 'double' ? 8 : 4),
        },
      },
    });
  });
}
