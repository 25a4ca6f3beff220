/**
 * Embedding lookup (Gather along axis 0). Its gradient is sparse-friendly: the rows' gradients are
 * scatter-added into a zero table with ScatterND(reduction='add'), never a dense one-hot matmul.
 */
import type { Value } from '../graph.js';
import { zerosLike } from './util.js';

export function embedding(table: Value, ids: Value): Value {
  const graph = table.graph;
  const shape = [...ids.shape, ...table.shape.slice(1)];
  const [out] = graph.node('Gather', [table, ids], [{ shape, dtype: table.dtype }], { axis: 0 }, table.requiresGrad);
  return graph.record([table, ids], out!, (g) => {
    const indices = graph.op1('Unsqueeze', [ids, graph.ints([-1])], [...ids.shape, 1], ids.dtype);
    const grad = graph.op1('ScatterND', [zerosLike(table), indices, g], table.shape, table.dtype, { reduction: 'add' });
    return [grad, null];
  });
}
