/** Broadcasting arithmetic: Add, Sub, Mul, Div, Neg. Gradients sum over broadcast axes (unbroadcast). */
import { broadcastShapes, type Value } from '../graph.js';

/** Sums `g` (shape of a broadcast result) down to the shape of `target`. */
export function unbroadcast(g: Value, target: Value): Value {
  const graph = g.graph;
  const n = g.rank;
  const offset = n - target.rank;
  const axes: number[] = [];
  for (let i = 0; i < n; i++) {
    const td = i < offset ? undefined : target.shape[i - offset];
    if (td === undefined || (td === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return g;
  const reducedShape = g.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  let r = graph.op1('ReduceSum', [g, graph.ints(axes)], reducedShape, g.dtype, { keepdims: 1 });
  if (offset > 0) {
    const staticTarget = target.shape.every((d) => typeof d === 'number');
    const shape = staticTarget
      ? graph.ints(target.shape as number[])
      : graph.op1('Shape', [target], [target.rank], 'int64');
    r = graph.op1('Reshape', [r, shape], target.shape, g.dtype);
  }
  return r;
}

function binary(
  op: string,
  a: Value,
  b: Value,
  backward: (g: Value, out: Value, needs: boolean[]) => (Value | null)[],
): Value {
  const graph = a.graph;
  const [out] = graph.node(
    op,
    [a, b],
    [{ shape: broadcastShapes(a.shape, b.shape), dtype: a.dtype }],
    {},
    a.requiresGrad || b.requiresGrad,
  );
  return graph.record([a, b], out!, (g, needs) => backward(g, out!, needs));
}

export function add(a: Value, b: Value): Value {
  return binary('Add', a, b, (g, _o, [na, nb]) => [na ? unbroadcast(g, a) : null, nb ? unbroadcast(g, b) : null]);
}

export function sub(a: Value, b: Value): Value {
  return binary('Sub', a, b, (g, _o, [na, nb]) => [na ? unbroadcast(g, a) : null, nb ? unbroadcast(neg(g), b) : null]);
}

export function mul(a: Value, b: Value): Value {
  return binary('Mul', a, b, (g, _o, [na, nb]) => [
    na ? unbroadcast(mul(g, b), a) : null,
    nb ? unbroadcast(mul(g, a), b) : null,
  ]);
}

export function div(a: Value, b: Value): Value {
  return binary('Div', a, b, (g, out, [na, nb]) => {
    const ga = div(g, b); // d(a/b)/da = 1/b
    return [na ? unbroadcast(ga, a) : null, nb ? unbroadcast(neg(mul(ga, out)), b) : null]; // d/db = -a/b² = -(1/b)(a/b)
  });
}

export function neg(x: Value): Value {
  const [out] = x.graph.node('Neg', [x], [{ shape: x.shape, dtype: x.dtype }], {}, x.requiresGrad);
  return x.graph.record([x], out!, (g) => [neg(g)]);
}

/** x * c for a constant c. */
export function scale(x: Value, c: number): Value {
  return mul(x, x.graph.scalar(c, x.dtype));
}
