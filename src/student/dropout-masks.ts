/**
 * The dropout masks of a training step, and a worker thread that draws the next step's masks while the
 * main thread runs the optimizer.
 *
 * A step's masks (one per dropout site, in the sites' order) come from one generator, Rng(seed, step):
 * they depend only on the seed, the step number and the batch's shape, so a resumed run draws exactly the
 * masks of the uninterrupted one, whichever thread draws them. They are ~18 M random values per `mini`
 * step at 32×128 (the attention sites alone 8.4 M), as much JavaScript time as AdamW over all parameters.
 * The engine asks the worker for step s + 1's masks (guessing the shape of step s's batch) right after step
 * s's forward/backward and before its optimizer update, so the two JavaScript phases run on two cores;
 * a step whose shape or number differs from the guess draws its masks on the main thread as before.
 * Buffers travel by transfer (no copies): the worker fills the previous step's buffers again.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Rng } from '../random.js';

/** one dropout mask: drop probability and number of values */
export interface MaskSpec {
  p: number;
  size: number;
}

/** Fills `out[i]` (≥ specs[i].size values; the rest is untouched) with the masks of (seed, step). */
export function fillMasks(seed: number, step: number, specs: MaskSpec[], out: Float32Array[]): void {
  const rng = new Rng(seed, step);
  specs.forEach((s, i) => rng.dropoutMask(out[i]!.subarray(0, s.size), s.p));
}

interface MaskRequest {
  seed: number;
  step: number;
  specs: MaskSpec[];
  buffers: ArrayBuffer[];
}

/** The worker's side: fills the buffers it is sent (or larger new ones) and sends them back. */
export function serveMasks(port: {
  on(e: 'message', f: (m: MaskRequest) => void): void;
  postMessage(m: unknown, t?: ArrayBuffer[]): void;
}): void {
  port.postMessage({ ready: true });
  port.on('message', (msg) => {
    const out = msg.specs.map((s, i) => {
      const b = msg.buffers[i];
      return b && b.byteLength >= s.size * 4 ? new Float32Array(b) : new Float32Array(s.size);
    });
    fillMasks(msg.seed, msg.step, msg.specs, out);
    const buffers = out.map((a) => a.buffer as ArrayBuffer);
    port.postMessage({ step: msg.step, buffers }, buffers);
  });
}

const keyOf = (seed: number, step: number, specs: MaskSpec[]) =>
  `${seed}:${step}:${specs.map((s) => `${s.p}/${s.size}`).join(',')}`;

/** Draws one step's masks ahead in a worker thread; see the file comment. */
export class MaskPrefetcher {
  private worker: Worker | null;
  /** the worker has loaded (until then, and after it fails, every step draws its own masks) */
  private ready = false;
  private pending: { key: string; masks: Promise<Float32Array[] | null> } | null = null;
  /** buffers handed back by the engine, sent with the next request */
  private spare: ArrayBuffer[] = [];

  constructor() {
    const here = fileURLToPath(import.meta.url);
    const ext = path.extname(here);
    const file = path.join(path.dirname(here), `mask-worker${ext}`);
    let worker: Worker;
    if (ext === '.ts') {
      // running from TypeScript sources (tsx, vitest): register tsx's loader in the worker first
      const tsxApi = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
      const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
      worker = new Worker(boot, { eval: true });
    } else {
      worker = new Worker(file);
    }
    worker.unref(); // an engine that is never released does not keep the process alive
    worker.once('message', () => {
      this.ready = true;
    });
    worker.on('error', () => this.stop());
    worker.on('exit', () => this.stop());
    this.worker = worker;
  }

  /** Starts drawing the masks of (seed, step, specs). */
  request(seed: number, step: number, specs: MaskSpec[]): void {
    const worker = this.worker;
    if (!worker || !this.ready) return;
    const buffers = this.spare;
    this.spare = [];
    const masks = new Promise<Float32Array[] | null>((resolve) => {
      const onMessage = (msg: { step: number; buffers: ArrayBuffer[] }) => {
        worker.off('exit', onExit);
        resolve(msg.buffers.map((b) => new Float32Array(b)));
      };
      const onExit = () => {
        worker.off('message', onMessage);
        resolve(null);
      };
      worker.once('message', onMessage);
      worker.once('exit', onExit);
    });
    worker.postMessage({ seed, step, specs, buffers } satisfies MaskRequest, buffers);
    this.pending = { key: keyOf(seed, step, specs), masks };
  }

  /** The masks of (seed, step, specs) if they were requested (whole buffers, each ≥ its size), else null. */
  async take(seed: number, step: number, specs: MaskSpec[]): Promise<Float32Array[] | null> {
    const p = this.pending;
    this.pending = null;
    if (!p) return null;
    const masks = await p.masks;
    if (p.key === keyOf(seed, step, specs)) return masks;
    if (masks) this.recycle(masks);
    return null;
  }

  /** Hands buffers back for the next request (their tensors must no longer be in use). */
  recycle(masks: Float32Array[]): void {
    this.spare = masks.map((m) => m.buffer as ArrayBuffer);
  }

  private stop(): void {
    this.worker = null;
  }

  async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
