/**
 * The model's own thread. onnxruntime-node runs a session synchronously on the thread that calls it, so
 * inference on the server's main thread would stall every connection for the length of a batch; here it
 * runs in a worker, and the main thread keeps accepting, parsing and queueing requests (which is what lets
 * micro-batches fill up while the previous batch computes). Protocol: see model.ts `loadPredictorInWorker`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { toApiJson } from './api-json.js';
import { loadPredictor, type LoadOptions } from './model.js';

const port = parentPort!;
const { dir, options } = workerData as { dir: string; options: LoadOptions };

try {
  const predictor = await loadPredictor(dir, options);
  port.postMessage({ type: 'ready', types: predictor.types, info: predictor.info });
  port.on(
    'message',
    (msg: {
      id: number;
      kind: 'texts' | 'sentences' | 'texts-json' | 'sentences-json' | 'close' | 'crash';
      items: unknown[];
    }) => {
      if (msg.kind === 'crash') {
        // diagnostics: die the way a crashing worker does (an uncaught error), between two forward passes
        setImmediate(() => {
          throw new Error('model worker crashed on request (diagnostics)');
        });
        return;
      }
      if (msg.kind === 'close') {
        void Promise.resolve(predictor.close?.()).then(() => port.close());
        return;
      }
      const texts = msg.kind === 'texts' || msg.kind === 'texts-json';
      const preds = texts
        ? predictor.predictTexts(msg.items as string[])
        : predictor.predictSentences(msg.items as string[][]);
      // the -json kinds answer each item as its API JSON text: strings cross threads as one copy each
      const run = msg.kind.endsWith('-json') ? preds.then(toApiJson) : preds;
      run.then(
        (out) => port.postMessage({ type: 'result', id: msg.id, out }),
        (err: unknown) =>
          port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) }),
      );
    },
  );
} catch (err) {
  const e = err as Error;
  port.postMessage({
    type: 'fatal',
    message: e.message,
    input: err instanceof InputError ? { file: err.file, line: err.line, column: err.column } : null,
  });
}
