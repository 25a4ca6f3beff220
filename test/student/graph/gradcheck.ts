/** Finite-difference gradient checking: builds a graph, runs its autodiff gradients in onnxruntime, and
 * compares each with a central difference of the same graph's loss. */
import * as ort from 'onnxruntime-node';
import { Graph, gradients, mul, sumAll, type Value, type FloatDType } from '../../../src/student/graph/index.js';
import type { DType } from '../../../src/student/graph/onnx.js';

export interface CheckInput {
  name: string;
  shape: number[];
  /** float data; for int64 inputs, integer values */
  data: number[];
  dtype?: DType;
  grad?: boolean;
}

/** Seeded uniform numbers in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  });
}

function tensor(dtype: DType, data: number[], shape: number[]): ort.Tensor {
  if (dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from(data.map(BigInt)), shape);
  if (dtype === 'double') return new ort.Tensor('float64', Float64Array.from(data), shape);
  return new ort.Tensor('float32', Float32Array.from(data), shape);
}

export interface CheckResult {
  maxAbsErr: number;
  maxRelErr: number;
  worst: string;
  /** the checked loss at the given inputs */
  loss: number;
  /** the analytic gradient of each input that takes one */
  grads: Map<string, number[]>;
}

/**
 * `build` gets the graph's input Values and returns the op's output; the checked loss is Σ out · R for a
 * fixed random R (so every output element matters with a different weight).
 */
export async function gradCheck(
  inputs: CheckInput[],
  build: (xs: Value[]) => Value,
  opts: { dtype?: FloatDType; eps?: number; contribOps?: boolean } = {},
): Promise<CheckResult> {
  const dtype = opts.dtype ?? 'double';
  const eps = opts.eps ?? (dtype === 'double' ? 1e-6 : 1e-2);
  const g = new Graph(dtype, opts.contribOps ?? false);
  const xs = inputs.map((i) => g.input(i.name, i.shape, i.dtype ?? dtype, i.grad ?? (i.dtype ?? dtype) === dtype));
  const out = build(xs);
  const shape = out.shape as number[];
  const n = shape.reduce((a, b) => a * b, 1);
  const rdata = rand(n, 99, 0.5, 1.5);
  const r = g.initializer('R', shape, dtype, dtype === 'double' ? Float64Array.from(rdata) : Float32Array.from(rdata));
  const loss = sumAll(mul(out, r));
  const wrt = xs.filter((x) => x.requiresGrad);
  const grads = gradients(g, loss, wrt);
  g.output(loss, 'loss');
  grads.forEach((gr, i) => g.output(gr, `grad_${wrt[i]!.name}`));
  const session = await ort.InferenceSession.create(g.toModel(), { graphOptimizationLevel: 'disabled' });
  const feeds = (data: number[][]) =>
    Object.fromEntries(inputs.map((inp, i) => [inp.name, tensor(inp.dtype ?? dtype, data[i]!, inp.shape)]));
  const base = inputs.map((i) => i.data.slice());
  const res = await session.run(feeds(base));
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let worst = '';
  const analyticGrads = new Map<string, number[]>();
  for (let k = 0; k < inputs.length; k++) {
    const inp = inputs[k]!;
    if (!xs[k]!.requiresGrad) continue;
    const analytic = res[`grad_${inp.name}`]!.data as Float64Array | Float32Array;
    analyticGrads.set(inp.name, Array.from(analytic));
    for (let e = 0; e < inp.data.length; e++) {
      const plus = base.map((d) => d.slice());
      const minus = base.map((d) => d.slice());
      plus[k]![e]! += eps;
      minus[k]![e]! -= eps;
      const lp = Number((await session.run(feeds(plus))).loss!.data[0]);
      const lm = Number((await session.run(feeds(minus))).loss!.data[0]);
      const numeric = (lp - lm) / (2 * eps);
      const a = Number(analytic[e]);
      const abs = Math.abs(a - numeric);
      const rel = abs / Math.max(1, Math.abs(numeric));
      if (rel > maxRelErr) {
        maxRelErr = rel;
        worst = `${inp.name}[${e}]: analytic ${a}, numeric ${numeric}`;
      }
      maxAbsErr = Math.max(maxAbsErr, abs);
    }
  }
  await session.release();
  return { maxAbsErr, maxRelErr, worst, loss: Number(res.loss!.data[0]), grads: analyticGrads };
}
