/**
 * Writing a checkpoint folder in Hugging Face layout (the layout is in checkpoint.ts' file comment):
 * config.json with sorted keys under the architecture's own names, model.safetensors in Hugging Face's order,
 * the tokenizer's files, onnx/model.onnx and any extra files. The folder is built beside the target, each file
 * synced, and swapped in with renames, so a crash leaves either the old checkpoint or the new one, never a
 * mixture; a folder that is not a checkpoint is never replaced.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { archOf, configForArch, paramsForArch } from './arch.js';
import { swapDir, tempPath } from '../files.js';
import { writeSafetensors } from './safetensors.js';
import type { Tokenizer } from './tokenizer.js';
import type { BertConfig, NamedTensor, ParamMap } from './types.js';
import { bertParamShapes, labelMaps, labelsOf, recoverCheckpointDir } from './checkpoint-files.js';

export interface CheckpointToSave {
  config: BertConfig;
  params: ParamMap;
  tokenizer: Tokenizer;
  /** bytes of the inference ONNX model (the engine's `inferenceModel()`), written to onnx/model.onnx */
  onnx?: Uint8Array;
  /** further files by relative path: strings and objects (as JSON) or bytes, e.g. {"eval.json": {...}} */
  extra?: Record<string, string | Uint8Array | object>;
}

/**
 * Writes a checkpoint folder (see the file comment), replacing `dir` as a whole. Refuses to replace an
 * existing non-empty folder that is not a checkpoint (no config.json), so a wrong --out cannot wipe data.
 */
export async function saveCheckpoint(dir: string, ck: CheckpointToSave): Promise<void> {
  const target = path.resolve(dir);
  await recoverCheckpointDir(target);
  const { config, params, tokenizer } = ck;
  const labels = labelsOf(config);
  checkParamsForSave(config, params, labels.length);
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new Error(`tokenizer has ${tokenizer.vocabSize} tokens but config.vocab_size is ${config.vocab_size}`);
  }
  if (existsSync(target)) {
    const st = await stat(target);
    if (!st.isDirectory()) throw new InputError('checkpoint path exists and is not a folder', target);
    if (readdirSync(target).length > 0 && !existsSync(path.join(target, 'config.json'))) {
      throw new InputError('refusing to replace a non-empty folder that is not a checkpoint (no config.json)', target);
    }
  }

  const tmp = tempPath(target);
  await mkdir(tmp, { recursive: true });
  try {
    const arch = archOf(config);
    await writeFileSynced(
      path.join(tmp, 'config.json'),
      json(sortKeys(configForArch(arch, configForSave(config, labels)))),
    );
    // canonical names first, in HF order, then anything else the caller keeps in params
    const ordered = new Map<string, NamedTensor>();
    for (const [name] of bertParamShapes(config, labels.length)) ordered.set(name, params.get(name)!);
    for (const [name, t] of params) if (!ordered.has(name)) ordered.set(name, t);
    // under the architecture's own Hugging Face names (DistilBERT, ELECTRA: arch.ts)
    await writeSafetensors(path.join(tmp, 'model.safetensors'), paramsForArch(arch, ordered, config));
    // (a BPE/Unigram tokenizer has no vocab.txt: its vocabulary is in tokenizer.json)
    const vocabText = tokenizer.vocabText();
    if (vocabText) await writeFileSynced(path.join(tmp, 'vocab.txt'), vocabText);
    await writeFileSynced(path.join(tmp, 'tokenizer.json'), JSON.stringify(tokenizer.toTokenizerJson()));
    await writeFileSynced(path.join(tmp, 'tokenizer_config.json'), json(tokenizer.tokenizerConfig()));
    await writeFileSynced(path.join(tmp, 'special_tokens_map.json'), json(tokenizer.specialTokensMap()));
    if (ck.onnx) {
      await mkdir(path.join(tmp, 'onnx'));
      await writeFileSynced(path.join(tmp, 'onnx', 'model.onnx'), ck.onnx);
    }
    for (const [rel, content] of Object.entries(ck.extra ?? {})) {
      const file = path.resolve(tmp, rel);
      if (!file.startsWith(tmp + path.sep)) throw new Error(`extra file "${rel}" is outside the checkpoint folder`);
      await mkdir(path.dirname(file), { recursive: true });
      const data = typeof content === 'string' || content instanceof Uint8Array ? content : json(content);
      await writeFileSynced(file, data);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await swapDir(tmp, target);
}

function configForSave(config: BertConfig, labels: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: ['BertForTokenClassification'],
    model_type: 'bert',
    position_embedding_type: 'absolute',
    classifier_dropout: null,
    torch_dtype: 'float32',
    use_cache: true,
    ...config,
    ...labelMaps(labels),
  };
  out.architectures = ['BertForTokenClassification'];
  return sortKeys(out);
}

/** sorted keys, as Hugging Face writes config.json */
function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkParamsForSave(config: BertConfig, params: ParamMap, numLabels: number): void {
  if (numLabels === 0) throw new Error('config.id2label is empty: a token classifier needs labels');
  for (const [name, shape] of bertParamShapes(config, numLabels)) {
    const t = params.get(name);
    if (!t) throw new Error(`cannot save checkpoint: parameter ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`cannot save checkpoint: parameter ${name} has shape [${t.shape}], config says [${shape}]`);
    }
  }
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
