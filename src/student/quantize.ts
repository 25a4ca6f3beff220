/**
 * Dynamic int8 quantisation of an exported inference model (onnx/model.onnx → onnx/model_quantized.onnx,
 * the file transformers.js loads for `dtype: 'q8'`).
 *
 * Every MatMul or Gemm whose weight is a constant 2-D float initializer becomes one onnxruntime
 * `com.microsoft.DynamicQuantizeMatMul`: the weight is stored as 8-bit integers with one scale per output
 * column (symmetric, zero point 0 for int8 or 128 for uint8), and the activation is quantised to uint8 at
 * run time, per tensor, from its own range. A Gemm's bias becomes the node's bias input. Embedding lookups
 * (Gather), LayerNorm, softmax and the attention products of two activations stay float.
 *
 * Why DynamicQuantizeMatMul rather than DynamicQuantizeLinear + MatMulInteger + Cast + Mul: it is the fused
 * form onnxruntime's own optimiser makes of that chain; it runs on the CPU provider of onnxruntime-node 1.30
 * (checked by test/student/quantize-int8.test.ts) and in transformers.js, which runs models through the same
 * runtime in Node.
 *
 * `weightType: 'uint8'` exists because x86 CPUs without VNNI multiply uint8 × int8 with an instruction
 * (vpmaddubsw) that can saturate a 16-bit sum; uint8 × uint8 avoids it at some speed cost. The default is
 * int8, which measured as accurate as uint8 on our models (README, "int8 models").
 */
import { decodeModelObject, encodeModelObject, type ModelObject } from './graph/onnx.js';

export type WeightType = 'int8' | 'uint8';

export interface QuantizeOptions {
  /** element type of the stored weights (default int8) */
  weightType?: WeightType;
}

export interface QuantizeReport {
  /** MatMul/Gemm nodes rewritten */
  quantized: number;
  /** MatMul/Gemm nodes left in float, with why */
  skipped: string[];
  bytesIn: number;
  bytesOut: number;
}

interface Tensor {
  name: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
}
interface Attr {
  name: string;
  i?: number;
  f?: number;
}
interface Node {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  attribute?: Attr[];
  domain?: string;
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;

function floatsOf(t: Tensor): Float32Array {
  if (t.raw_data && t.raw_data.length > 0) {
    // an aligned copy: the decoded bytes are a view (a Node Buffer, whose slice() is no copy) at any offset
    const copy = new Uint8Array(t.raw_data);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.float_data ?? []);
}

function attr(node: Node, name: string, dflt: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return dflt;
  return a.f !== undefined && a.i === undefined ? a.f : (a.i ?? a.f ?? dflt);
}

/**
 * Per-column symmetric quantisation of w [K × N] (row-major). Returns the integers (int8 or uint8 with zero
 * point 128), one scale per column, and the zero points.
 */
export function quantizeColumns(
  w: Float32Array,
  K: number,
  N: number,
  type: WeightType = 'int8',
): { q: Uint8Array; scale: Float32Array; zeroPoint: Uint8Array } {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) scale[n] = Math.max(scale[n]!, Math.abs(w[k * N + n]!));
  }
  for (let n = 0; n < N; n++) scale[n] = scale[n]! > 0 ? scale[n]! / 127 : 1;
  const zp = type === 'int8' ? 0 : 128;
  const q = new Uint8Array(K * N);
  const asInt8 = new Int8Array(q.buffer);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const v = Math.max(-127, Math.min(127, Math.round(w[k * N + n]! / scale[n]!)));
      if (type === 'int8') asInt8[k * N + n] = v;
      else q[k * N + n] = v + zp;
    }
  }
  return { q, scale, zeroPoint: new Uint8Array(N).fill(zp) };
}

/** Quantises the model's constant-weight MatMul/Gemm nodes; see the file comment. */
export function quantizeModel(
  bytes: Uint8Array,
  opts: QuantizeOptions = {},
): { bytes: Uint8Array; report: QuantizeReport } {
  const type = opts.weightType ?? 'int8';
  const model = decodeModelObject(bytes) as ModelObject & {
    graph: { node: Node[]; initializer?: Tensor[] };
    opset_import?: Array<{ domain?: string; version: number }>;
  };
  const inits = new Map((model.graph.initializer ?? []).map((t) => [t.name, t]));
  const uses = new Map<string, number>();
  for (const n of model.graph.node) for (const i of n.input) uses.set(i, (uses.get(i) ?? 0) + 1);
  const skipped: string[] = [];
  const added: Tensor[] = [];
  const dropped = new Set<string>();
  let quantized = 0;
  const nodes: Node[] = [];
  for (const node of model.graph.node) {
    const isGemm = node.op_type === 'Gemm' && (node.domain ?? '') === '';
    const isMatMul = node.op_type === 'MatMul' && (node.domain ?? '') === '';
    if (!isGemm && !isMatMul) {
      nodes.push(node);
      continue;
    }
    const label = node.name || node.output[0]!;
    const w = inits.get(node.input[1]!);
    if (!w || w.data_type !== FLOAT || (w.dims ?? []).length !== 2) {
      if (w) skipped.push(`${label}: weight is not a 2-D float constant`);
      nodes.push(node); // a product of two activations (attention): stays float
      continue;
    }
    if (isGemm && (attr(node, 'transA', 0) !== 0 || attr(node, 'alpha', 1) !== 1 || attr(node, 'beta', 1) !== 1)) {
      skipped.push(`${label}: Gemm with transA, alpha or beta`);
      nodes.push(node);
      continue;
    }
    const [d0, d1] = (w.dims ?? []).map(Number) as [number, number];
    const transB = isGemm && attr(node, 'transB', 0) !== 0;
    // the weight as [K × N] (input features × output columns)
    const raw = floatsOf(w);
    let kn: Float32Array;
    let K: number;
    let N: number;
    if (transB) {
      [N, K] = [d0, d1];
      kn = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) kn[k * N + n] = raw[n * K + k]!;
    } else {
      [K, N] = [d0, d1];
      kn = raw;
    }
    const bias = isGemm && node.input[2] ? inits.get(node.input[2]) : undefined;
    const biasOk = bias !== undefined && bias.data_type === FLOAT && (bias.dims ?? []).map(Number).join() === String(N);
    const { q, scale, zeroPoint } = quantizeColumns(kn, K, N, type);
    const base = `${node.input[1]}_q${quantized}`;
    added.push(
      { name: `${base}_w`, dims: [K, N], data_type: type === 'int8' ? INT8 : UINT8, raw_data: q },
      { name: `${base}_scale`, dims: [N], data_type: FLOAT, raw_data: new Uint8Array(scale.buffer) },
      { name: `${base}_zp`, dims: [N], data_type: type === 'int8' ? INT8 : UINT8, raw_data: zeroPoint },
    );
    const out = node.output[0]!;
    const needsAdd = isGemm && node.input[2] !== undefined && node.input[2] !== '' && !biasOk;
    const inputs = [node.input[0]!, `${base}_w`, `${base}_scale`, `${base}_zp`];
    if (biasOk) inputs.push(node.input[2]!);
    nodes.push({
      op_type: 'DynamicQuantizeMatMul',
      domain: 'com.microsoft',
      name: `${label}_quant`,
      input: inputs,
      output: [needsAdd ? `${out}_nobias` : out],
    });
    if (needsAdd)
      nodes.push({ op_type: 'Add', name: `${label}_bias`, input: [`${out}_nobias`, node.input[2]!], output: [out] });
    uses.set(node.input[1]!, uses.get(node.input[1]!)! - 1);
    if (uses.get(node.input[1]!) === 0) dropped.add(node.input[1]!);
    quantized++;
  }
  model.graph.node = nodes;
  model.graph.initializer = [...(model.graph.initializer ?? []).filter((t) => !dropped.has(t.name)), ...added];
  const opsets = model.opset_import ?? [];
  if (quantized > 0 && !opsets.some((o) => o.domain === 'com.microsoft'))
    opsets.push({ domain: 'com.microsoft', version: 1 });
  model.opset_import = opsets;
  const out = encodeModelObject(model);
  return { bytes: out, report: { quantized, skipped, bytesIn: bytes.length, bytesOut: out.length } };
}
