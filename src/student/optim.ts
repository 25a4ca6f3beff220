/**
 * AdamW (decoupled weight decay, bias correction — PyTorch's torch.optim.AdamW update, step for step),
 * global-norm gradient clipping (torch.nn.utils.clip_grad_norm_) and the linear warm-up/decay schedule
 * (transformers.get_linear_schedule_with_warmup). The update runs in one JavaScript typed-array loop per
 * parameter, in place (bench/train.ts reports it as js_ms.optimizer). In the graph it would take ~10
 * elementwise passes over all parameters plus three parameter-sized outputs per step to copy back, and
 * onnxruntime cannot update its inputs in place.
 *
 * The word embeddings of a token classifier get only the rows of the batch's tokens as gradient
 * (`SparseRowsAdamW`): those rows get the AdamW update, other rows keep their moments and skip Adam's step
 * (as torch.optim.SparseAdam and TensorFlow's LazyAdam do); the decoupled weight decay still applies to every
 * row every step (one multiply per value). Rows never seen behave exactly as in dense AdamW (their moments
 * stay 0); a row seen before differs only in skipping Adam's decaying-momentum steps while absent.
 */
import type { OptimizerSettings, OptimizerState, ParamMap } from './types.js';

export const DEFAULT_OPTIMIZER: OptimizerSettings = {
  lr: 5e-5,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  maxGradNorm: 1.0,
};

/**
 * Learning rate for the step that follows `step` completed steps: rises linearly from 0 to `peak` over
 * `warmup` steps, then falls linearly to 0 at `total` (as Hugging Face's linear schedule: the very first
 * step of a warm-up runs at lr 0).
 */
export function lrAt(step: number, total: number, warmup: number, peak: number): number {
  if (step < warmup) return (peak * step) / Math.max(1, warmup);
  return peak * Math.max(0, (total - step) / Math.max(1, total - warmup));
}

export function newOptimizerState(params: ParamMap): OptimizerState {
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [name, t] of params) {
    m.set(name, new Float32Array(t.data.length));
    v.set(name, new Float32Array(t.data.length));
  }
  return { step: 0, m, v };
}

/** L2 norm over all gradients together (accumulated in float64). */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    sum += s;
  }
  return Math.sqrt(sum);
}

/** Scale factor clip_grad_norm_ applies to every gradient (1 when the norm is within `maxNorm` or clipping is off). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * One AdamW update of `param` in place. `step` is 1-based (after incrementing); `gradScale` multiplies the
 * gradient first (the clipping coefficient). weightDecay 0 for parameters that are not decayed.
 */
export function adamwUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  step: number,
  lr: number,
  s: Pick<OptimizerSettings, 'beta1' | 'beta2' | 'eps'> & { weightDecay: number },
  gradScale = 1,
): void {
  const { beta1, beta2, eps } = s;
  const decay = 1 - lr * s.weightDecay;
  const b1c = 1 - beta1;
  const b2c = 1 - beta2;
  const stepSize = lr / (1 - beta1 ** step);
  const invBc2Sqrt = 1 / Math.sqrt(1 - beta2 ** step);
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * gradScale;
    const mi = (m[i] = beta1 * m[i]! + b1c * g);
    const vi = (v[i] = beta2 * v[i]! + b2c * g * g);
    param[i] = param[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/** Row-sparse AdamW for one [rows, width] table; see the file comment. */
export class SparseRowsAdamW {
  constructor(
    readonly rows: number,
    readonly width: number,
  ) {}

  /**
   * One step: `ids` are the rows with a gradient (distinct), `grads` their gradients [ids.length, width] in
   * the same order. Every row first gets the step's weight decay (one multiply per value), then the rows of
   * `ids` Adam's update: the same arithmetic, in the same order, as adamwUpdate on those rows.
   */
  step(
    param: Float32Array,
    m: Float32Array,
    v: Float32Array,
    ids: ArrayLike<number>,
    grads: Float32Array,
    step: number,
    lr: number,
    s: Pick<OptimizerSettings, 'beta1' | 'beta2' | 'eps'> & { weightDecay: number },
    gradScale = 1,
  ): void {
    const W = this.width;
    const decay = 1 - lr * s.weightDecay;
    if (decay !== 1) for (let i = 0; i < param.length; i++) param[i] = param[i]! * decay;
    const noDecay = { ...s, weightDecay: 0 };
    for (let j = 0; j < ids.length; j++) {
      const a = ids[j]! * W;
      adamwUpdate(param.subarray(a, a + W), grads.subarray(j * W, (j + 1) * W), m.subarray(a, a + W), v.subarray(a, a + W), step, lr, noDecay, gradScale);
    }
  }
}
