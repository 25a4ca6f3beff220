/**
 * Opening a model for inference, in one place: `Predictor.load`, `nerd forward` and the server call this.
 *
 * A model is named by a folder (a nerd checkpoint or any Hugging Face one) or by a hub name
 * `ORG/NAME[@REVISION]` (resolved through the hub cache, see hub.ts); a folder that exists wins over a hub
 * name of the same spelling, as in Python's `from_pretrained`. The inference graph is the folder's
 * onnx/model.onnx, or, for a folder that has none (a Hugging Face checkpoint), exported on the fly from its
 * weights.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readJsonFile } from '../files.js';
import { type HubOptions, parseHubName, resolveHubModel } from './hub.js';

/** The local folder `spec` names: an existing folder, or a hub model fetched into (or found in) the cache. */
export async function resolveModelDir(spec: string, opts: HubOptions = {}): Promise<string> {
  if (existsSync(spec)) return spec;
  const hub = parseHubName(spec);
  if (!hub) throw new InputError(`no such model folder, and "${spec}" is not a hub name (ORG/NAME[@REVISION])`, spec);
  return resolveHubModel(hub, opts);
}

export interface OpenedModel {
  /** the local folder (a hub cache snapshot for a hub name) */
  dir: string;
  configFile: string;
  /** config.json as read */
  config: Record<string, unknown> & {
    id2label?: Record<string, string>;
    vocab_size?: number;
    max_position_embeddings?: number;
  };
  /** labels ordered by id (config.json's id2label) */
  labels: string[];
  /** onnx/model.onnx's path, or the exported graph's bytes */
  onnx: string | Uint8Array;
  /** size of onnx/model.onnx, null when exported on the fly */
  onnxBytes: number | null;
}

/** Resolves `spec`, reads its config and labels, and finds or exports its inference graph. */
export async function openModelFolder(
  spec: string,
  opts: { threads?: number; hub?: HubOptions; quantized?: boolean } = {},
): Promise<OpenedModel> {
  const dir = await resolveModelDir(spec, opts.hub);
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError('not a model folder: config.json is missing', dir);
  const config = (await readJsonFile(configFile, 'config.json')) as OpenedModel['config'];
  const labels = labelsOfConfig(config, configFile);
  if (labels.length === 0) throw new InputError('config.json has no id2label: not a token classifier', configFile);
  if (opts.quantized) {
    // the int8 graph (quantize.ts) under the name transformers.js gives it; never made on the fly
    const qFile = path.join(dir, 'onnx', 'model_quantized.onnx');
    if (!existsSync(qFile))
      throw new InputError(
        `no onnx/model_quantized.onnx: make it with "nerd export --model ${spec} --quantize int8"`,
        dir,
      );
    const { statSync } = await import('node:fs');
    return { dir, configFile, config, labels, onnx: qFile, onnxBytes: statSync(qFile).size };
  }
  const onnxFile = path.join(dir, 'onnx', opts.quantized ? 'model_quantized.onnx' : 'model.onnx');
  if (opts.quantized && !existsSync(onnxFile)) {
    throw new InputError('no quantized model in this folder (make one with nerd export --quantize int8)', onnxFile);
  }
  if (existsSync(onnxFile)) {
    const { statSync } = await import('node:fs');
    return { dir, configFile, config, labels, onnx: onnxFile, onnxBytes: statSync(onnxFile).size };
  }
  const { loadCheckpoint } = await import('./checkpoint.js');
  const { BertEngine } = await import('./engine.js');
  const ck = await loadCheckpoint(dir);
  const engine = await BertEngine.create(ck.config, ck.params, { threads: opts.threads });
  try {
    return { dir, configFile, config, labels, onnx: engine.inferenceModel(), onnxBytes: null };
  } finally {
    await engine.release();
  }
}

function labelsOfConfig(config: { id2label?: unknown }, file: string): string[] {
  const raw = config.id2label;
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null) throw new InputError('"id2label" must be an object', file);
  const entries = Object.entries(raw as Record<string, unknown>).map(([k, v]) => [Number(k), v] as const);
  entries.sort((a, b) => a[0] - b[0]);
  entries.forEach(([k, v], i) => {
    if (k !== i) throw new InputError(`"id2label" ids must be 0..n-1, found ${k} at position ${i}`, file);
    if (typeof v !== 'string') throw new InputError(`"id2label" values must be strings (id ${k})`, file);
  });
  return entries.map(([, v]) => v as string);
}
