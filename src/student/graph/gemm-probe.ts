/**
 * The matrix products of a graph, alone: for a yardstick of how close a training step runs to the
 * machine's GEMM rate. `matmulProbe(graph, dims)` copies every Gemm / MatMul / FusedMatMul node of `graph`
 * (same shapes, transposes and alpha; each reads its own random inputs) into a model of its own and counts
 * their floating-point operations. Running that model through the same runtime times the products without
 * anything around them (element-wise ops, copies, feeds, the optimizer): its rate is what the whole step
 * could reach if everything else were free.
 */
import { Graph, type Dim, type Value } from './graph.js';

export interface MatmulProbe {
  /** ONNX model: one input per operand, one output (the first element) per product */
  model: Uint8Array;
  /** the model's inputs: name and concrete shape */
  inputs: Array<{ name: string; shape: number[] }>;
  /** floating-point operations of all the products (2·M·N·K each) */
  flops: number;
  /** number of product nodes */
  nodes: number;
}

const MATMUL_OPS = new Set(['Gemm', 'MatMul', 'FusedMatMul']);

function concrete(shape: Dim[], dims: Record<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = dims[d];
    if (v === undefined) throw new Error(`matmulProbe: no size given for dimension '${d}'`);
    return v;
  });
}

/** FLOPs of one product node given its operands' shapes and attributes. */
function productFlops(op: string, a: number[], b: number[], transA: boolean, transB: boolean): number {
  const m = transA ? a[a.length - 1]! : a[a.length - 2]!;
  const k = transA ? a[a.length - 2]! : a[a.length - 1]!;
  const n = transB ? b[b.length - 2]! : b[b.length - 1]!;
  if (op === 'Gemm') return 2 * m * n * k;
  const batchA = a.slice(0, -2);
  const batchB = b.slice(0, -2);
  const r = Math.max(batchA.length, batchB.length);
  let batch = 1;
  for (let i = 0; i < r; i++) batch *= Math.max(batchA[batchA.length - r + i] ?? 1, batchB[batchB.length - r + i] ?? 1);
  return 2 * batch * m * n * k;
}

/** The product nodes of `graph` as a model of their own (see the file comment); `dims` sizes the dynamic
 * dimensions, e.g. {B: 32, T: 128, N: 4096}. */
export function matmulProbe(graph: Graph, dims: Record<string, number>): MatmulProbe {
  const probe = new Graph(graph.dtype === 'double' ? 'double' : 'float', graph.contribOps);
  const inputs: MatmulProbe['inputs'] = [];
  let flops = 0;
  let nodes = 0;
  for (const node of graph.nodes) {
    if (!MATMUL_OPS.has(node.op_type)) continue;
    const operands: Value[] = [];
    const shapes: number[][] = [];
    node.input.forEach((name, i) => {
      const v = graph.values.get(name);
      if (!v) throw new Error(`matmulProbe: unknown value ${name}`);
      const shape = concrete(v.shape, dims);
      const inName = `${node.name}_in${i}`;
      operands.push(probe.input(inName, shape, v.dtype));
      inputs.push({ name: inName, shape });
      shapes.push(shape);
    });
    const attr = (k: string) => Number(node.attribute.find((a) => a.name === k)?.i ?? 0) === 1;
    flops += productFlops(node.op_type, shapes[0]!, shapes[1]!, attr('transA'), attr('transB'));
    const outShape = concrete(graph.values.get(node.output[0]!)?.shape ?? [], dims);
    const [out] = probe.node(node.op_type, operands, [{ shape: outShape }], {}, false, node.domain ?? '');
    probe.nodes[probe.nodes.length - 1]!.attribute = node.attribute;
    // one element of each product is the output: onnxruntime-node copies outputs into JavaScript, and
    // copying every product would time the copies, not the products
    const zeros = outShape.map(() => 0);
    const ones = outShape.map(() => 1);
    probe.output(probe.op1('Slice', [out!, probe.ints(zeros), probe.ints(ones)], ones));
    nodes++;
  }
  return { model: probe.toModel({ docString: 'nerd: the matrix products of a training step' }), inputs, flops, nodes };
}
