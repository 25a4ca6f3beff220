/**
 * Model workers: the predictor running in worker threads (worker.ts), behind the one `Predictor` the
 * server uses. onnxruntime-node runs a session on the thread that calls it, so the server's own thread
 * only accepts, parses, queues and answers requests while the workers compute.
 *
 * Each call goes to the worker with the fewest calls in flight. A worker that dies (an uncaught error, an
 * out-of-memory abort, process.exit in the worker) fails the calls it held — their requests are answered 500, not lost
 * — and is replaced by a fresh one; `/health` shows the restarts. A worker that cannot even load the
 * model fails start-up with that error. (A native crash inside onnxruntime takes the whole process down,
 * as it would with any in-process library: run the server under a supervisor that restarts it.)
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { resolveModelDir } from '../student/model-folder.js';
import type { LoadOptions } from './model.js';
import type { Predictor, SentencePrediction } from './predictor.js';

interface Meta {
  types: string[];
  info: Record<string, unknown>;
}

type Pending = { resolve: (v: any) => void; reject: (e: Error) => void };
type Kind = 'texts' | 'sentences' | 'texts-json' | 'sentences-json';

/** one worker thread holding one model session */
class ModelWorker {
  readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead: Error | undefined;
  onExit: ((err: Error) => void) | undefined;

  private constructor(readonly worker: Worker) {}

  static async start(dir: string, opts: LoadOptions): Promise<{ w: ModelWorker; meta: Meta }> {
    const here = fileURLToPath(import.meta.url);
    const ext = path.extname(here);
    const file = path.join(path.dirname(here), `worker${ext}`);
    const workerData = { dir, options: opts };
    let worker: Worker;
    if (ext === '.ts') {
      // running from TypeScript sources (tsx, vitest): register tsx's loader in the worker, then load it
      const tsxApi = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
      const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
      worker = new Worker(boot, { eval: true, workerData });
    } else {
      worker = new Worker(file, { workerData });
    }
    const w = new ModelWorker(worker);
    const meta = await new Promise<Meta>((resolve, reject) => {
      worker.on('message', (msg: any) => {
        if (msg.type === 'ready') resolve({ types: msg.types, info: msg.info });
        else if (msg.type === 'fatal') {
          reject(
            msg.input
              ? new InputError(msg.message, msg.input.file, msg.input.line, msg.input.column)
              : new Error(msg.message),
          );
        } else {
          const p = w.pending.get(msg.id);
          if (!p) return;
          w.pending.delete(msg.id);
          if (msg.type === 'result') p.resolve(msg.out);
          else p.reject(new Error(msg.message));
        }
      });
      const fail = (err: Error) => {
        if (w.dead) return;
        w.dead = err;
        reject(err);
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
        w.onExit?.(err);
      };
      worker.on('error', (err) => fail(new Error(`model worker failed: ${err.message}`)));
      worker.on('exit', (code) => fail(new Error(`model worker exited (code ${code})`)));
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return { w, meta };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  call<T>(kind: Kind, items: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, kind, items });
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.onExit = undefined;
    const exited = new Promise((r) => this.worker.once('exit', r));
    // the worker handles this between two forward passes (never inside one: terminating a thread while
    // onnxruntime's native code runs aborts the whole process), releases its session and exits
    this.worker.postMessage({ id: 0, kind: 'close', items: [] });
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timeout);
  }
}

/** a Predictor over worker threads, with restarts; `workers()` exposes the threads (diagnostics, tests) */
export interface PoolPredictor extends Predictor {
  close(): Promise<void>;
  /** the live worker threads */
  workers(): Worker[];
  /** workers replaced after dying, since start */
  restarts(): number;
  /** workers being replaced now */
  restarting(): number;
}

/**
 * `workers` model workers of `opts.threads` ONNX Runtime threads each. Resolves once all have loaded the
 * model; rejects with the first load error.
 */
export async function loadPredictorPool(spec: string, workers: number, opts: LoadOptions = {}): Promise<PoolPredictor> {
  // a folder or a hub name, resolved (downloaded) once before the workers start
  const dir = await resolveModelDir(spec);
  const n = Math.max(1, workers);
  const started = await Promise.allSettled(Array.from({ length: n }, () => ModelWorker.start(dir, opts)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.w.close() : undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  const first = (started[0] as PromiseFulfilledResult<{ w: ModelWorker; meta: Meta }>).value;
  const slots: Array<ModelWorker | undefined> = started.map(
    (s) => (s as PromiseFulfilledResult<{ w: ModelWorker }>).value.w,
  );
  let closed = false;
  let restarts = 0;
  let lastFailure: string | undefined;
  let replacing = 0;
  const waiters: Array<() => void> = [];

  const watch = (k: number, w: ModelWorker) => {
    w.onExit = (err) => {
      if (closed) return;
      slots[k] = undefined;
      lastFailure = err.message;
      replacing++;
      const retry = (attempt: number) => {
        ModelWorker.start(dir, opts).then(
          ({ w: fresh }) => {
            replacing--;
            if (closed) return void fresh.close();
            restarts++;
            slots[k] = fresh;
            watch(k, fresh);
            for (const r of waiters.splice(0)) r();
          },
          (e: Error) => {
            lastFailure = `restarting a model worker failed: ${e.message}`;
            if (!closed) setTimeout(() => retry(attempt + 1), Math.min(5000, 100 * 2 ** attempt)).unref();
          },
        );
      };
      retry(0);
    };
  };
  slots.forEach((w, k) => watch(k, w!));

  const pick = async (): Promise<ModelWorker> => {
    for (;;) {
      if (closed) throw new Error('model workers are closed');
      let best: ModelWorker | undefined;
      for (const w of slots) if (w && !w.dead && (!best || w.inFlight < best.inFlight)) best = w;
      if (best) return best;
      // every worker is being replaced: wait for one
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const call = async <T>(kind: Kind, items: unknown[]): Promise<T> => (await pick()).call<T>(kind, items);

  return {
    types: first.meta.types,
    info: { ...first.meta.info, thread: 'worker', workers: n, threadsPerWorker: opts.threads ?? 'all cores' },
    predictSentences: (s) => call<SentencePrediction[]>('sentences', s),
    predictTexts: (t) => call<SentencePrediction[]>('texts', t),
    predictJson: (kind, items) => call<string[]>(`${kind}-json`, items),
    // a pool that is replacing workers still answers: only "no worker at all" is a failure
    failure: () => (slots.every((w) => !w || w.dead) ? (lastFailure ?? 'no model worker running') : undefined),
    workers: () => slots.filter((w): w is ModelWorker => !!w && !w.dead).map((w) => w.worker),
    restarts: () => restarts,
    async close() {
      closed = true;
      for (const r of waiters.splice(0)) r();
      await Promise.all(slots.map((w) => w?.close()));
    },
    restarting: () => replacing,
  };
}

/** one model worker (a pool of one) */
export function loadPredictorInWorker(dir: string, opts: LoadOptions = {}): Promise<PoolPredictor> {
  return loadPredictorPool(dir, 1, opts);
}
