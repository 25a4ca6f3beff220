/** Softmax cross-entropy over classes with ignored positions (label -100) and per-token weights. */
import type { Value } from '../graph.js';
import { raw, reduceSum } from './util.js';

export const IGNORE_INDEX = -100;

/**
 * logits[N, C], labels int64[N] (-100 = ignored), weights[N] (1 = plain cross-entropy).
 * loss = Σᵢ wᵢ · (−log softmax(zᵢ)[yᵢ]) / max(1, #non-ignored). With all weights 1 this is exactly PyTorch's
 * CrossEntropyLoss(ignore_index=-100, reduction='mean'). The target matrix Tᵢc = wᵢ·[yᵢ = c] is zero on
 * ignored rows, so they contribute neither loss nor gradient: dz = (softmax(z) · Σ_c T − T) · g / count.
 */
export function softmaxCrossEntropy(logits: Value, labels: Value, weights: Value): Value {
  const graph = logits.graph;
  const dt = logits.dtype;
  const [n, c] = logits.shape as [number | string, number];
  if (typeof c !== 'number') throw new Error('number of classes must be static');
  const classes = graph.initializer(
    graph.fresh('classes'),
    [1, c],
    'int64',
    BigInt64Array.from({ length: c }, (_, i) => BigInt(i)),
  );
  const lab2 = graph.op1('Unsqueeze', [labels, graph.ints([1])], [n, 1], 'int64');
  const onehot = graph.op1('Cast', [graph.op1('Equal', [lab2, classes], [n, c], 'bool')], [n, c], dt, {
    to: dt === 'double' ? 11 : 1,
  });
  const w2 = graph.op1('Unsqueeze', [weights, graph.ints([1])], [n, 1], dt);
  const target = raw('Mul', onehot, w2, [n, c]);
  const valid = graph.op1(
    'Not',
    [graph.op1('Equal', [labels, graph.scalar(IGNORE_INDEX, 'int64')], [n], 'bool')],
    [n],
    'bool',
  );
  const count = graph.op1(
    'ReduceSum',
    [graph.op1('Cast', [valid], [n], dt, { to: dt === 'double' ? 11 : 1 })],
    [],
    dt,
    { keepdims: 0 },
  );
  const denom = graph.op1('Max', [count, graph.scalar(1, dt)], [], dt);
  const logp = graph.op1('LogSoftmax', [logits], [n, c], dt, { axis: -1 });
  const total = graph.op1('ReduceSum', [raw('Mul', target, logp)], [], dt, { keepdims: 0 });
  const [loss] = graph.node(
    'Div',
    [graph.op1('Neg', [total], [], dt), denom],
    [{ shape: [], dtype: dt }],
    {},
    logits.requiresGrad,
  );
  return graph.record([logits, labels, weights], loss!, (g) => {
    const probs = graph.op1('Exp', [logp], [n, c], dt);
    const rowW = reduceSum(target, [1], true);
    const d = raw('Sub', raw('Mul', probs, rowW), target);
    return [raw('Mul', d, raw('Div', g, denom, [])), null, null];
  });
}

/**
 * Mean cross-entropy of logits[M, C] against int64 labels[M] (every row counts): ONNX's
 * SoftmaxCrossEntropyLoss forward, and dz = (softmax(z) − onehot(y)) · g / M with the one-hot subtracted by a
 * ScatterND at the M label positions. Three passes over [M, C] in the backward, where the weighted form above
 * builds a dense one-hot target: meant for large C (the masked-LM softmax over a 29k vocabulary).
 */
export function sparseSoftmaxCrossEntropy(logits: Value, labels: Value): Value {
  const graph = logits.graph;
  const dt = logits.dtype;
  const [m, c] = logits.shape;
  const [loss, logp] = graph.node(
    'SoftmaxCrossEntropyLoss',
    [logits, labels],
    [
      { shape: [], dtype: dt },
      { shape: [m!, c!], dtype: dt },
    ],
    { reduction: 'mean' },
    logits.requiresGrad,
  );
  return graph.record([logits, labels], loss!, (g) => {
    const probs = graph.op1('Exp', [logp!], [m!, c!], dt);
    const rows = graph.op1('Shape', [labels], [1], 'int64');
    const count = graph.op1('Squeeze', [rows, graph.ints([0])], [], 'int64');
    const range = graph.op1('Range', [graph.scalar(0, 'int64'), count, graph.scalar(1, 'int64')], [m!], 'int64');
    const idx = graph.op1(
      'Concat',
      [
        graph.op1('Unsqueeze', [range, graph.ints([1])], [m!, 1], 'int64'),
        graph.op1('Unsqueeze', [labels, graph.ints([1])], [m!, 1], 'int64'),
      ],
      [m!, 2],
      'int64',
      { axis: 1 },
    );
    const minusOnes = graph.op1('Expand', [graph.scalar(-1, dt), rows], [m!], dt);
    const d = graph.op1('ScatterND', [probs, idx, minusOnes], [m!, c!], dt, { reduction: 'add' });
    const scale = raw('Div', g, graph.op1('Cast', [count], [], dt, { to: dt === 'double' ? 11 : 1 }), []);
    return [raw('Mul', d, scale), null];
  });
}
