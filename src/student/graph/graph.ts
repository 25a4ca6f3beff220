/**
 * A tiny tensor-graph builder. Each op function (in ops/) appends ONNX nodes to a Graph and records on the
 * graph's tape how to differentiate them; autodiff.ts walks the tape backwards. Shapes are tracked
 * statically, with strings for dynamic dimensions ('B', 'T', 'N' ...), so that broadcasting gradients know
 * which axes to sum over.
 */
import {
  AttrType,
  encodeModel,
  OnnxDataType,
  type AttributeInit,
  type DType,
  type NodeInit,
  type TensorProtoInit,
} from './onnx.js';

export type Dim = number | string;
export type FloatDType = 'float' | 'double';

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly shape: Dim[],
    readonly dtype: DType,
    readonly requiresGrad: boolean,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
}

/** Emits the gradients of an op's inputs given the gradient of its output. `needs[i]` says whether input i
 * wants one; return null for inputs that do not. */
export type BackwardFn = (gradOut: Value, needs: boolean[]) => (Value | null)[];

export interface TapeEntry {
  inputs: Value[];
  output: Value;
  backward: BackwardFn;
}

export type AttrValue =
  | number
  | string
  | number[]
  | { float: number }
  | { floats: number[] }
  | { tensor: TensorProtoInit };

export interface GraphInput {
  value: Value;
}

/** Typed array holding an initializer's data. */
export type InitData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export class Graph {
  readonly nodes: NodeInit[] = [];
  readonly initializers: TensorProtoInit[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly tape: TapeEntry[] = [];
  private counter = 0;
  private scalarCache = new Map<string, Value>();
  /** values shared by many ops, e.g. the ones row of sumRows, by key */
  readonly shared = new Map<string, Value>();
  /** every named value (inputs, initializers, node outputs), for tools that inspect shapes (gemm-probe.ts) */
  readonly values = new Map<string, Value>();

  /** Non-default operator domains used (e.g. com.microsoft), for the model's opset imports. */
  readonly domains = new Set<string>();

  /**
   * `dtype` is the float type of activations (double for gradient checks, float for real models).
   * `contribOps` allows onnxruntime's com.microsoft CPU kernels (FusedMatMul) where they save work; leave it
   * off for models meant for other runtimes.
   */
  constructor(
    readonly dtype: FloatDType = 'float',
    readonly contribOps = false,
  ) {}

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, shape: Dim[], dtype: DType = this.dtype, requiresGrad = false): Value {
    const v = new Value(this, name, shape, dtype, requiresGrad);
    this.inputs.push(v);
    this.values.set(name, v);
    return v;
  }

  /** A constant stored as an initializer. */
  initializer(name: string, shape: number[], dtype: DType, data: InitData, requiresGrad = false): Value {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: shape, data_type: OnnxDataType[dtype], raw_data: bytes });
    const v = new Value(this, name, shape, dtype, requiresGrad);
    this.values.set(name, v);
    return v;
  }

  /** Scalar float constant of the graph's dtype (or `dtype`), deduplicated. */
  scalar(x: number, dtype: DType = this.dtype): Value {
    const key = `${dtype}:${x}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.initializer(this.fresh('const'), [], dtype, typedArrayOf(dtype, [x]));
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /** 1-D int64 constant (axes, shapes, perms). */
  ints(values: number[]): Value {
    const key = `ints:${values.join(',')}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.initializer(this.fresh('ints'), [values.length], 'int64', BigInt64Array.from(values.map(BigInt)));
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /**
   * Appends one ONNX node. Inputs may be null for omitted optional inputs. Returns its outputs as Values with
   * the given shapes/dtypes; they require grad iff `requiresGrad` (ops decide, usually "any input does").
   */
  node(
    opType: string,
    inputs: (Value | null)[],
    outSpecs: { shape: Dim[]; dtype?: DType }[],
    attrs: Record<string, AttrValue> = {},
    requiresGrad = false,
    domain = '',
  ): Value[] {
    const name = this.fresh(opType);
    if (domain) this.domains.add(domain);
    const outs = outSpecs.map(
      (s, i) => new Value(this, `${name}_out${i}`, s.shape, s.dtype ?? this.dtype, requiresGrad),
    );
    for (const o of outs) this.values.set(o.name, o);
    this.nodes.push({
      op_type: opType,
      name,
      input: inputs.map((v) => (v ? v.name : '')),
      output: outs.map((o) => o.name),
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttr(k, v)),
      ...(domain ? { domain } : {}),
    });
    return outs;
  }

  /** Single-output node, non-differentiable bookkeeping (shape ops, casts, constants). */
  op1(
    opType: string,
    inputs: (Value | null)[],
    shape: Dim[],
    dtype: DType = this.dtype,
    attrs: Record<string, AttrValue> = {},
  ): Value {
    return this.node(opType, inputs, [{ shape, dtype }], attrs)[0]!;
  }

  /** Records a differentiable op on the tape (its output requires grad when any input does). */
  record(inputs: Value[], output: Value, backward: BackwardFn): Value {
    if (output.requiresGrad) this.tape.push({ inputs, output, backward });
    return output;
  }

  /**
   * Marks a value as a graph output, under `name` if given. A value computed by a node is renamed in place
   * (an Identity would cost onnxruntime a copy); call this after building everything that reads `v`.
   */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name && name !== v.name) {
      out = new Value(this, name, v.shape, v.dtype, false);
      this.values.set(name, out);
      const producer = this.nodes.find((n) => n.output.includes(v.name));
      if (producer && !this.outputs.some((o) => o.name === v.name)) {
        for (const n of this.nodes) {
          n.input = n.input.map((x) => (x === v.name ? name : x));
          n.output = n.output.map((x) => (x === v.name ? name : x));
        }
      } else {
        this.nodes.push({
          op_type: 'Identity',
          name: this.fresh('Identity'),
          input: [v.name],
          output: [name],
          attribute: [],
        });
      }
    }
    this.outputs.push(out);
    return out;
  }

  toModel(opts: { docString?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const vi = (v: Value) => ({ name: v.name, elemType: OnnxDataType[v.dtype], shape: v.shape });
    return encodeModel({
      graphName: 'nerd',
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs.map(vi),
      outputs: this.outputs.map(vi),
      opset: OPSET,
      extraOpsets: [...this.domains].map((domain) => ({ domain, version: 1 })),
      ...opts,
    });
  }
}

/** Opset 17: LayerNormalization exists, ScatterND has `reduction`. */
export const OPSET = 17;

export function typedArrayOf(dtype: DType, values: number[]): InitData {
  switch (dtype) {
    case 'float':
      return Float32Array.from(values);
    case 'double':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map((x) => BigInt(x)));
    case 'int32':
      return Int32Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values);
  }
}

function encodeAttr(name: string, v: AttrValue): AttributeInit {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: AttrType.FLOATS, floats: v.floats };
  return { name, type: AttrType.TENSOR, t: v.tensor };
}

/** Numpy-style broadcast of two static shapes. */
export function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (typeof da === 'string' || typeof db === 'string') out.push(typeof da === 'number' ? da : db);
    else throw new Error(`cannot broadcast [${a}] with [${b}]`);
  }
  return out;
}
