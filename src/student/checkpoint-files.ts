/**
 * The files of a checkpoint folder, as both checkpoint.ts (loading) and checkpoint-save.ts (saving) see them:
 * BertForTokenClassification's parameter names and shapes in Hugging Face's order, the label maps of a config,
 * the checks and defaults of config.json (readBertConfig), the weights file(s) of a folder (safetensors or
 * PyTorch's format, single or sharded) and how a stored tensor's name maps to its canonical name, and the
 * recovery of a folder whose save was interrupted between its two renames.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { toBertFields } from './arch.js';
import { recoverDir } from '../files.js';
import { readSafetensors, type ReadTensor } from './safetensors.js';
import { readTorchFile } from './torch-file.js';
import { readJsonFile } from './tokenizer-load.js';
import type { BertConfig } from './types.js';
import { BERT_DEFAULTS } from './presets.js';

/** Names and shapes of BertForTokenClassification's parameters, in Hugging Face's order. */
export function bertParamShapes(config: BertConfig, numLabels: number): Array<[string, number[]]> {
  const H = config.hidden_size;
  const I = config.intermediate_size;
  // ELECTRA: embeddings of embedding_size E, projected to H when E ≠ H
  const E = typeof config.embedding_size === 'number' ? config.embedding_size : H;
  const out: Array<[string, number[]]> = [
    ['bert.embeddings.word_embeddings.weight', [config.vocab_size, E]],
    ['bert.embeddings.position_embeddings.weight', [config.max_position_embeddings, E]],
    ['bert.embeddings.token_type_embeddings.weight', [config.type_vocab_size, E]],
    ['bert.embeddings.LayerNorm.weight', [E]],
    ['bert.embeddings.LayerNorm.bias', [E]],
  ];
  if (E !== H) out.push(['bert.embeddings_project.weight', [H, E]], ['bert.embeddings_project.bias', [H]]);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    for (const [name, o, i] of [
      ['attention.self.query', H, H],
      ['attention.self.key', H, H],
      ['attention.self.value', H, H],
      ['attention.output.dense', H, H],
    ] as const) {
      out.push([`${p}.${name}.weight`, [o, i]], [`${p}.${name}.bias`, [o]]);
    }
    out.push([`${p}.attention.output.LayerNorm.weight`, [H]], [`${p}.attention.output.LayerNorm.bias`, [H]]);
    out.push([`${p}.intermediate.dense.weight`, [I, H]], [`${p}.intermediate.dense.bias`, [I]]);
    out.push([`${p}.output.dense.weight`, [H, I]], [`${p}.output.dense.bias`, [H]]);
    out.push([`${p}.output.LayerNorm.weight`, [H]], [`${p}.output.LayerNorm.bias`, [H]]);
  }
  out.push(['classifier.weight', [numLabels, H]], ['classifier.bias', [numLabels]]);
  return out;
}

/** labels of a config ordered by id */
export function labelsOf(config: Pick<BertConfig, 'id2label'>): string[] {
  return Object.entries(config.id2label ?? {})
    .map(([k, v]) => [Number(k), v] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, v]) => v);
}

export function labelMaps(labels: readonly string[]): {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
} {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  return { id2label, label2id };
}

/** Puts back `<dir>.replaced` if a save was interrupted between its two renames; removes it otherwise. */
export async function recoverCheckpointDir(dir: string): Promise<void> {
  await recoverDir(dir);
}

const NUMBER_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
] as const;

/** Reads and checks config.json of a BERT checkpoint, filling Hugging Face's defaults. */
export async function readBertConfig(file: string): Promise<BertConfig> {
  // DistilBERT / ELECTRA configs in BertConfig's field names (arch.ts); other model types are refused
  const raw = toBertFields(await readJsonFile(file), file);
  const bad = (msg: string): never => {
    throw new InputError(msg, file);
  };
  for (const k of NUMBER_FIELDS) {
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      bad(`"${k}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  const config = { ...BERT_DEFAULTS, ...raw } as unknown as BertConfig;
  if (config.hidden_size % config.num_attention_heads !== 0) {
    bad(`hidden_size ${config.hidden_size} is not a multiple of num_attention_heads ${config.num_attention_heads}`);
  }
  if (!Number.isInteger(config.type_vocab_size) || config.type_vocab_size <= 0)
    bad('"type_vocab_size" must be a positive integer');
  for (const k of [
    'layer_norm_eps',
    'hidden_dropout_prob',
    'attention_probs_dropout_prob',
    'initializer_range',
  ] as const) {
    if (typeof config[k] !== 'number' || !((config[k] as number) >= 0)) bad(`"${k}" must be a non-negative number`);
  }
  if (config.hidden_act !== 'gelu')
    bad(`hidden_act "${String(config.hidden_act)}" is not supported (only "gelu", as BERT)`);
  if (config.position_embedding_type !== 'absolute') {
    bad(`position_embedding_type "${String(config.position_embedding_type)}" is not supported (only "absolute")`);
  }
  const id2label = raw.id2label;
  if (id2label !== undefined) {
    if (typeof id2label !== 'object' || id2label === null) bad('"id2label" must be an object');
    const keys = Object.keys(id2label)
      .map(Number)
      .sort((a, b) => a - b);
    if (keys.some((k, i) => k !== i)) bad(`"id2label" ids must be 0..${keys.length - 1}`);
    if (Object.values(id2label).some((v) => typeof v !== 'string')) bad('"id2label" values must be strings');
  }
  const labels = labelsOf({ id2label: (id2label ?? {}) as Record<string, string> });
  Object.assign(config, labelMaps(labels));
  return config;
}

/**
 * The weights file(s) of a folder: model.safetensors, the shards of model.safetensors.index.json, or the
 * same in PyTorch's format (pytorch_model.bin, pytorch_model.bin.index.json), in that order of preference.
 */
export async function weightFiles(dir: string): Promise<string[]> {
  for (const [single, indexName] of [
    ['model.safetensors', 'model.safetensors.index.json'],
    ['pytorch_model.bin', 'pytorch_model.bin.index.json'],
  ] as const) {
    if (existsSync(path.join(dir, single))) return [path.join(dir, single)];
    const index = path.join(dir, indexName);
    if (!existsSync(index)) continue;
    const idx = await readJsonFile(index);
    const map = idx.weight_map;
    if (typeof map !== 'object' || map === null) throw new InputError('index has no "weight_map"', index);
    const files = [...new Set(Object.values(map as Record<string, string>))];
    for (const f of files) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\'))
        throw new InputError(`shard name ${JSON.stringify(f)} is not a file name`, index);
      if (!existsSync(path.join(dir, f))) throw new InputError(`shard "${f}" listed in the index is missing`, index);
    }
    return files.map((f) => path.join(dir, f));
  }
  for (const other of ['tf_model.h5', 'flax_model.msgpack']) {
    if (existsSync(path.join(dir, other))) {
      throw new InputError(
        `${other} is not supported (TensorFlow/Flax weights): use a folder with model.safetensors or pytorch_model.bin`,
        path.join(dir, other),
      );
    }
  }
  throw new InputError('model folder has neither model.safetensors nor pytorch_model.bin', dir);
}

/** Tensors of one weights file, safetensors or PyTorch's format (read without executing its pickle). */
export function readWeights(
  file: string,
  select: (name: string) => boolean,
): Promise<{ tensors: Map<string, ReadTensor> }> {
  return file.endsWith('.safetensors') ? readSafetensors(file, { select }) : readTorchFile(file, { select });
}

/**
 * Hugging Face name of a checkpoint tensor, or null if it is not part of BertForTokenClassification
 * (MLM/NSP heads `cls.*`, the pooler, buffers such as position_ids, other models' heads).
 */
export function canonicalName(name: string): string | null {
  let n = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  if (/^(embeddings|encoder|pooler)\./.test(n)) n = `bert.${n}`;
  if (n.startsWith('bert.pooler.') || n === 'bert.embeddings.position_ids') return null;
  if (n.startsWith('bert.embeddings.') || n.startsWith('bert.encoder.') || n.startsWith('bert.embeddings_project.'))
    return n;
  if (n === 'classifier.weight' || n === 'classifier.bias') return n;
  return null;
}
