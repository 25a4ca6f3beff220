/**
 * What the trainer reads and writes on disk, on top of checkpoint.ts:
 *
 *   loadModel(presetOrDir)       a preset with fresh weights, or a HF checkpoint folder (label set adapted)
 *   saveModel(OUT/best)          the shippable checkpoint (+ onnx/model.onnx, + eval.json)
 *   saveTrainingState(OUT/last)  model/ (checkpoint) + optimizer.safetensors (AdamW moments) + trainer_state.json
 *   loadTrainingState(OUT/last)
 *
 * OUT/last is written into a sibling temp folder which then replaces the old one by two renames
 * (old → .replaced, tmp → final; files.ts): a kill at any point leaves a complete old or new folder, and
 * `recoverDir` puts a stranded `.replaced` back on the next start. (saveCheckpoint does the same for OUT/best.)
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { recoverDir, replaceDir as writeDirAtomically } from '../files.js';
import { loadCheckpoint } from './checkpoint.js';
import { labelsOf, readBertConfig } from './checkpoint-files.js';
import { saveCheckpoint } from './checkpoint-save.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { initParams } from './engine.js';
import { parseHubName } from './hub.js';
import { resolveModelDir } from './model-folder.js';
import { isPresetName, presetConfig, PRESETS } from './presets.js';
import { Tokenizer } from './tokenizer.js';
import type { BertConfig, NamedTensor, OptimizerState, ParamMap } from './types.js';
import type { TrainerState } from './train-types.js';

export interface LoadedModel {
  config: BertConfig;
  params: ParamMap;
  tokenizer: Tokenizer;
  source: 'preset' | 'checkpoint';
  /** notes from loading a checkpoint (fresh classifier, ignored heads, ...) */
  notes: string[];
}

export interface LoadModelOptions {
  /** the labels the run needs; a checkpoint keeps its own order when it has them all */
  labels?: string[];
  seed: number;
  /** vocab.txt for presets */
  vocab?: string;
  lowercase?: boolean;
  dropout?: number;
  /**
   * the window length training uses: a fresh model records it as tokenizer_config.json model_max_length,
   * because its position embeddings beyond it are never trained (predictors must not use longer windows)
   */
  maxSeq?: number;
}

/** A preset name (tiny, mini, small, base) with fresh weights, or a checkpoint folder. */
export async function loadModel(model: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const dropout = (config: BertConfig): void => {
    if (opts.dropout !== undefined) {
      config.hidden_dropout_prob = opts.dropout;
      config.attention_probs_dropout_prob = opts.dropout;
    }
  };
  if (isPresetName(model)) {
    if (!opts.labels) throw new Error('a fresh model needs a label set');
    const vocab = opts.vocab;
    if (!vocab || !existsSync(vocab)) {
      throw new InputError(`vocabulary file not found (a fresh ${model} model needs --vocab FILE)`, vocab);
    }
    const tokenizer = await Tokenizer.fromVocabFile(vocab, {
      lowercase: opts.lowercase ?? false,
      ...(opts.maxSeq ? { modelMaxLength: opts.maxSeq } : {}),
    });
    const config = presetConfig(model, {
      vocabSize: tokenizer.vocabSize,
      labels: opts.labels,
      padTokenId: tokenizer.padId,
    });
    dropout(config);
    const params = initParams(config, opts.seed);
    return { config, params, tokenizer, source: 'preset', notes: [] };
  }
  if (!existsSync(model) && !parseHubName(model)) {
    throw new InputError(
      `no such model: "${model}" is neither a preset (${Object.keys(PRESETS).join(', ')}), a folder nor a hub name ORG/NAME`,
    );
  }
  // a hub name ORG/NAME[@REVISION] becomes its snapshot folder in the hub cache (downloaded when missing)
  model = await resolveModelDir(model);
  let labels = opts.labels;
  if (labels) {
    const configFile = path.join(model, 'config.json');
    const own = existsSync(configFile) ? labelsOf(await readBertConfig(configFile)) : [];
    // keep the checkpoint's label order when it knows every label (phase 2 after phase 1); a checkpoint
    // without real labels (LABEL_0...) or missing some gets the run's label set and a fresh classifier
    const missing = labels.filter((l) => !own.includes(l));
    if (own.length && missing.length === 0) labels = own;
  }
  const ck = await loadCheckpoint(model, { labels, seed: opts.seed });
  dropout(ck.config);
  return { config: ck.config, params: ck.params, tokenizer: ck.tokenizer, source: 'checkpoint', notes: ck.notes };
}

// the folder swap and its recovery are files.ts's, shared with saveCheckpoint
export { recoverDir, writeDirAtomically };

export interface ModelToSave {
  config: BertConfig;
  params: ParamMap;
  tokenizer: Tokenizer;
  /** the engine, to export onnx/model.onnx */
  engine?: { inferenceModel(): Uint8Array };
}

/** OUT/best: a HF checkpoint folder (+ onnx/model.onnx) and eval.json (dev scores, step) */
export async function saveModel(dir: string, m: ModelToSave, info: Record<string, unknown>): Promise<void> {
  await saveCheckpoint(dir, {
    config: m.config,
    params: m.params,
    tokenizer: m.tokenizer,
    onnx: m.engine?.inferenceModel(),
    extra: { 'eval.json': info },
  });
}

/** OUT/last: model/ (checkpoint without ONNX) + optimizer.safetensors + trainer_state.json */
export async function saveTrainingState(
  dir: string,
  m: ModelToSave,
  optimizer: OptimizerState,
  state: TrainerState,
): Promise<void> {
  await writeDirAtomically(dir, async (tmp) => {
    await saveCheckpoint(path.join(tmp, 'model'), { config: m.config, params: m.params, tokenizer: m.tokenizer });
    await writeOptimizerState(tmp, m.params, optimizer);
    await writeFile(path.join(tmp, 'trainer_state.json'), `${JSON.stringify(state)}\n`);
  });
}

/** the model folder inside OUT/last */
export function lastModelDir(lastDir: string): string {
  return path.join(lastDir, 'model');
}

export async function loadTrainingState(dir: string): Promise<{ state: TrainerState; optimizer: OptimizerState }> {
  await recoverDir(dir);
  const state = JSON.parse(await readFile(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  return { state, optimizer: await readOptimizerState(dir) };
}

/** DIR/optimizer.safetensors: the AdamW moments as m.NAME and v.NAME tensors, the step in the metadata
 * (one format for the resumable states of nerd train and nerd pretrain) */
export async function writeOptimizerState(
  dir: string,
  params: ReadonlyMap<string, { shape: number[] }>,
  optimizer: OptimizerState,
): Promise<void> {
  const moments = new Map<string, NamedTensor>();
  for (const [name, p] of params) {
    const mm = optimizer.m.get(name);
    const vv = optimizer.v.get(name);
    if (mm) moments.set(`m.${name}`, { shape: p.shape, data: mm });
    if (vv) moments.set(`v.${name}`, { shape: p.shape, data: vv });
  }
  await writeSafetensors(path.join(dir, 'optimizer.safetensors'), moments, { step: String(optimizer.step) });
}

export async function readOptimizerState(dir: string): Promise<OptimizerState> {
  const { tensors, metadata } = await readSafetensors(path.join(dir, 'optimizer.safetensors'));
  const optimizer: OptimizerState = { step: Number(metadata?.step ?? 0), m: new Map(), v: new Map() };
  for (const [key, t] of tensors) {
    if (key.startsWith('m.')) optimizer.m.set(key.slice(2), t.data);
    else if (key.startsWith('v.')) optimizer.v.set(key.slice(2), t.data);
  }
  return optimizer;
}
