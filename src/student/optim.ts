/**
 * AdamW (decoupled weight decay, bias correction — PyTorch's torch.optim.AdamW update, step for step),
 * global-norm gradient clipping (torch.nn.utils.clip_grad_norm_) and the linear warm-up/decay schedule
 * (transformers.get_linear_schedule_with_warmup). The update runs in one JavaScript typed-array loop per
 * parameter, in place (bench/train.ts reports it as js_ms.optimizer). In the graph it would take ~10
 * elementwise passes over all parameters plus three parameter-sized outputs per step to copy back, and
 * onnxruntime cannot update its inputs in place.
 *
 * The word embeddings of a token classifier get only the rows of the batch's tokens as gradient
 * (`SparseRowsAdamW`), and the update is still exactly dense AdamW's: rows seen in earlier steps keep moving
 * on their momentum (a lazy update, as torch.optim.SparseAdam, measured clearly slower learning on a few
 * hundred sentences, where most words are rare), rows never seen (moments 0) only decay.
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

/** AdamW on values [a, b) whose gradient is 0 this step (the moments decay, the parameters keep moving). */
function adamwZeroGrad(
  param: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: number,
  b: number,
  step: number,
  lr: number,
  s: Pick<OptimizerSettings, 'beta1' | 'beta2' | 'eps'> & { weightDecay: number },
): void {
  const { beta1, beta2, eps } = s;
  const decay = 1 - lr * s.weightDecay;
  const stepSize = lr / (1 - beta1 ** step);
  const invBc2Sqrt = 1 / Math.sqrt(1 - beta2 ** step);
  for (let i = a; i < b; i++) {
    const mi = (m[i] = beta1 * m[i]! + 0);
    const vi = (v[i] = beta2 * v[i]! + 0);
    param[i] = param[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/** Row-sparse AdamW for one [rows, width] table; see the file comment. */
export class SparseRowsAdamW {
  /** rows whose moments may be non-zero (seen in some batch): derived from the moments at the first step */
  private live: Uint8Array | null = null;
  /** this step's slot of each row in `ids`, or -1 */
  private readonly slot: Int32Array;

  constructor(
    readonly rows: number,
    readonly width: number,
  ) {
    this.slot = new Int32Array(rows).fill(-1);
  }

  private liveRows(m: Float32Array, v: Float32Array): Uint8Array {
    if (!this.live) {
      const W = this.width;
      this.live = new Uint8Array(this.rows);
      for (let row = 0; row < this.rows; row++) {
        for (let i = row * W; i < (row + 1) * W; i++) {
          if (m[i] !== 0 || v[i] !== 0) {
            this.live[row] = 1;
            break;
          }
        }
      }
    }
    return this.live;
  }

  /**
   * One step, the same arithmetic as adamwUpdate on the whole table with a gradient that is zero outside
   * `ids`: rows of `ids` (distinct) get their gradient row (`grads` [ids.length, width], in the same order),
   * rows seen in earlier steps the zero-gradient update, rows never seen (moments 0) only the weight decay.
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
    const live = this.liveRows(m, v);
    for (let j = 0; j < ids.length; j++) this.slot[ids[j]!] = j;
    const decay = 1 - lr * s.weightDecay;
    for (let row = 0; row < this.rows; ) {
      const j = this.slot[row]!;
      if (j >= 0) {
        const a = row * W;
        adamwUpdate(
          param.subarray(a, a + W),
          grads.subarray(j * W, (j + 1) * W),
          m.subarray(a, a + W),
          v.subarray(a, a + W),
          step,
          lr,
          s,
          gradScale,
        );
        live[row] = 1;
        this.slot[row] = -1;
        row++;
        continue;
      }
      // a run of rows outside the batch, all live or all never seen
      let end = row + 1;
      while (end < this.rows && this.slot[end]! < 0 && live[end] === live[row]) end++;
      if (live[row]) adamwZeroGrad(param, m, v, row * W, end * W, step, lr, s);
      else if (decay !== 1) for (let i = row * W; i < end * W; i++) param[i] = param[i]! * decay;
      row = end;
    }
  }
}
