/**
 * Checkpoint folders in Hugging Face layout, loadable by `BertForTokenClassification.from_pretrained(dir)`,
 * `AutoTokenizer.from_pretrained(dir)` and transformers.js' token-classification pipeline:
 *
 *   config.json               BertConfig + architectures/model_type + id2label/label2id
 *   model.safetensors         float32 weights with HF names (bert.embeddings..., classifier.weight)
 *   vocab.txt                 WordPiece vocabulary
 *   tokenizer.json            the same tokenizer for `tokenizers` / transformers.js
 *   tokenizer_config.json     do_lower_case, strip_accents, special tokens, ...
 *   special_tokens_map.json
 *   onnx/model.onnx           inference model (input_ids, attention_mask, token_type_ids → logits), optional
 *
 * `saveCheckpoint` builds the folder beside the target and swaps it in with renames, so a crash leaves
 * either the old checkpoint or the new one, never a mixture; a stranded `<dir>.replaced` (crash between the
 * two renames) is put back by the next save or load.
 *
 * `loadCheckpoint` also reads real Hugging Face BERT checkpoints: BertModel (names without `bert.`),
 * BertForMaskedLM / BertForPreTraining (heads `cls.*` ignored), `pooler.*` ignored, legacy LayerNorm
 * `gamma`/`beta` names, F16/BF16 weights, sharded `model.safetensors.index.json`, and PyTorch's
 * `pytorch_model.bin` (zip or legacy, sharded or not; torch-file.ts, no pickle code run). A classifier head is kept
 * when its labels match; otherwise (or when there is none and labels are given) a fresh one is initialised
 * and a note says so.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { adaptTensor, archOf, configForArch, paramsForArch, toBertFields, toBertName } from './arch.js';
import { recoverDir, swapDir, tempPath } from '../files.js';
import { Rng } from '../random.js';
import { readSafetensors, writeSafetensors, type ReadTensor } from './safetensors.js';
import { readTorchFile } from './torch-file.js';
import { readJsonFile, Tokenizer } from './tokenizer.js';
import type { BertConfig, NamedTensor, ParamMap } from './types.js';
import { BERT_DEFAULTS } from './presets.js';

export { readSafetensors, writeSafetensors } from './safetensors.js';

export interface CheckpointToSave {
  config: BertConfig;
  params: ParamMap;
  tokenizer: Tokenizer;
  /** bytes of the inference ONNX model (the engine's `inferenceModel()`), written to onnx/model.onnx */
  onnx?: Uint8Array;
  /** further files by relative path: strings and objects (as JSON) or bytes, e.g. {"eval.json": {...}} */
  extra?: Record<string, string | Uint8Array | object>;
}

export interface LoadOptions {
  /** the label set wanted; the classifier is kept, reordered, or freshly initialised to fit it */
  labels?: string[];
  /** shorthand for labels LABEL_0..LABEL_{n-1} when only the count is known */
  numLabels?: number;
  /** seed of a freshly initialised classifier (default 0) */
  seed?: number;
}

export type ClassifierFate = 'kept' | 'reordered' | 'initialised' | 'absent';

export interface LoadedCheckpoint {
  config: BertConfig;
  /** parameters in canonical (Hugging Face) order; no classifier when `classifier` is "absent" */
  params: ParamMap;
  tokenizer: Tokenizer;
  classifier: ClassifierFate;
  /** human-readable notes about what loading did (fresh classifier, ignored heads, ...) */
  notes: string[];
  /** tensor names in the weights file that were not used (heads, pooler, buffers) */
  ignored: string[];
}

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

function labelMaps(labels: readonly string[]): { id2label: Record<string, string>; label2id: Record<string, number> } {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  return { id2label, label2id };
}

// ---------------------------------------------------------------------------------------------------------
// saving

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

/** Puts back `<dir>.replaced` if a save was interrupted between its two renames; removes it otherwise. */
export async function recoverCheckpointDir(dir: string): Promise<void> {
  await recoverDir(dir);
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

// ---------------------------------------------------------------------------------------------------------
// loading

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
async function weightFiles(dir: string): Promise<string[]> {
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
function readWeights(file: string, select: (name: string) => boolean): Promise<{ tensors: Map<string, ReadTensor> }> {
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

/** Loads a checkpoint folder written by nerd or by Hugging Face (see the file comment). */
export async function loadCheckpoint(dir: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const root = path.resolve(dir);
  await recoverCheckpointDir(root);
  if (!existsSync(root)) throw new InputError('model folder not found', dir);
  const configFile = path.join(root, 'config.json');
  if (!existsSync(configFile)) throw new InputError('not a model folder: config.json is missing', dir);
  const config = await readBertConfig(configFile);
  const arch = archOf(config);
  const files = await weightFiles(root);
  const tokenizer = await Tokenizer.fromDirectory(root);
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new InputError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocab_size}`,
      configFile,
    );
  }

  const found = new Map<string, { t: ReadTensor; file: string; original: string }>();
  const ignored: string[] = [];
  for (const file of files) {
    const { tensors } = await readWeights(file, (name) => {
      const b = toBertName(arch, name);
      const c = b === null ? null : canonicalName(b);
      if (c === null) ignored.push(name);
      return c !== null;
    });
    for (const [name, t] of tensors) {
      const c = canonicalName(toBertName(arch, name)!)!;
      if (found.has(c))
        throw new InputError(`tensor ${c} appears twice (as "${found.get(c)!.original}" and "${name}")`, file);
      found.set(c, { t: adaptTensor(arch, c, t, config), file, original: name });
    }
  }

  const notes: string[] = [];
  if (ignored.length)
    notes.push(`ignored ${ignored.length} tensors not used by token classification (${summarise(ignored)})`);
  const dtypes = new Set([...found.values()].map((f) => f.t.dtype));
  if ([...dtypes].some((d) => d !== 'F32')) notes.push(`converted ${[...dtypes].join('/')} weights to float32`);

  // encoder: everything but the classifier must be there with the config's shapes
  const ckptLabels = labelsOf(config);
  const head = found.get('classifier.weight');
  const headBias = found.get('classifier.bias');
  if (Boolean(head) !== Boolean(headBias)) {
    throw new InputError(
      'classifier.weight and classifier.bias must both be present or both absent',
      (head ?? headBias)!.file,
    );
  }
  const headRows = head ? head.t.shape[0]! : 0;
  if (arch === 'distilbert' && !found.has('bert.embeddings.token_type_embeddings.weight')) {
    // no token types: one zero row, so BERT's graph computes DistilBERT's embeddings
    const zero = { dtype: 'F32' as const, shape: [1, config.hidden_size], data: new Float32Array(config.hidden_size) };
    found.set('bert.embeddings.token_type_embeddings.weight', {
      t: zero,
      file: files[0]!,
      original: '(DistilBERT: no token types)',
    });
  }
  const shapes = bertParamShapes(config, headRows);
  const params: ParamMap = new Map();
  const missing: string[] = [];
  for (const [name, shape] of shapes) {
    if (name.startsWith('classifier.')) continue;
    const f = found.get(name);
    if (!f) {
      missing.push(name);
      continue;
    }
    checkShape(name, f, shape);
    params.set(name, { shape, data: f.t.data });
  }
  if (missing.length) {
    throw new InputError(
      `${missing.length} BERT parameters missing from the weights (${summarise(missing)}); is this a BERT checkpoint matching config.json?`,
      files[0],
    );
  }
  const unused = [...found.keys()].filter((n) => !n.startsWith('classifier.') && !params.has(n));
  if (unused.length) {
    throw new InputError(
      `weights have tensors config.json does not account for (${summarise(unused)}); check num_hidden_layers`,
      files[0],
    );
  }

  // classifier
  let classifier: ClassifierFate;
  let labels: string[];
  const wanted =
    opts.labels ??
    (opts.numLabels !== undefined ? Array.from({ length: opts.numLabels }, (_, i) => `LABEL_${i}`) : undefined);
  if (wanted && new Set(wanted).size !== wanted.length)
    throw new Error(`duplicate labels in ${JSON.stringify(wanted)}`);
  const H = config.hidden_size;
  if (head && headBias) {
    checkShape('classifier.weight', head, [headRows, H]);
    checkShape('classifier.bias', headBias, [headRows]);
    const have = ckptLabels.length === headRows ? ckptLabels : Array.from({ length: headRows }, (_, i) => `LABEL_${i}`);
    if (ckptLabels.length !== headRows) {
      notes.push(
        `config.json has ${ckptLabels.length} labels but the classifier has ${headRows} rows; naming them LABEL_i`,
      );
    }
    if (!wanted || sameList(wanted, have)) {
      labels = have;
      params.set('classifier.weight', { shape: [headRows, H], data: head.t.data });
      params.set('classifier.bias', { shape: [headRows], data: headBias.t.data });
      classifier = 'kept';
    } else if (wanted.length === have.length && wanted.every((l) => have.includes(l))) {
      labels = wanted;
      const w = new Float32Array(headRows * H);
      const b = new Float32Array(headRows);
      wanted.forEach((l, i) => {
        const j = have.indexOf(l);
        w.set(head.t.data.subarray(j * H, (j + 1) * H), i * H);
        b[i] = headBias.t.data[j]!;
      });
      params.set('classifier.weight', { shape: [headRows, H], data: w });
      params.set('classifier.bias', { shape: [headRows], data: b });
      classifier = 'reordered';
      notes.push('classifier rows reordered to the requested label order');
    } else {
      labels = wanted;
      freshClassifier(params, config, wanted.length, opts.seed ?? 0);
      classifier = 'initialised';
      notes.push(
        `the checkpoint's labels (${have.join(', ')}) differ from the requested ones (${wanted.join(', ')}): initialised a fresh classifier`,
      );
    }
  } else if (wanted) {
    labels = wanted;
    freshClassifier(params, config, wanted.length, opts.seed ?? 0);
    classifier = 'initialised';
    notes.push(`the checkpoint has no classifier head: initialised a fresh one for ${wanted.length} labels`);
  } else {
    labels = [];
    classifier = 'absent';
    notes.push('the checkpoint has no classifier head (pass labels to add one)');
  }
  const architectures = Array.isArray(config.architectures) ? config.architectures : undefined;
  const outConfig: BertConfig = { ...config, ...labelMaps(labels) };
  if (classifier !== 'absent') outConfig.architectures = ['BertForTokenClassification'];
  else if (architectures) outConfig.architectures = architectures;
  return { config: outConfig, params, tokenizer, classifier, notes, ignored };
}

function checkShape(name: string, f: { t: ReadTensor; file: string; original: string }, shape: number[]): void {
  const s = f.t.shape;
  if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new InputError(
      `tensor "${f.original}" has shape [${s}] but config.json implies [${shape}] for ${name}`,
      f.file,
    );
  }
}

/** N(0, initializer_range) weights and zero bias, as Hugging Face initialises a new head. */
function freshClassifier(params: ParamMap, config: BertConfig, n: number, seed: number): void {
  const H = config.hidden_size;
  const rng = new Rng(seed ^ 0x5eed);
  const w = new Float32Array(n * H);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * config.initializer_range;
  params.set('classifier.weight', { shape: [n, H], data: w });
  params.set('classifier.bias', { shape: [n], data: new Float32Array(n) });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function summarise(names: string[]): string {
  const prefixes = new Map<string, number>();
  for (const n of names) {
    const p = n.split('.').slice(0, 2).join('.');
    prefixes.set(p, (prefixes.get(p) ?? 0) + 1);
  }
  const parts = [...prefixes]
    .slice(0, 6)
    .map(([p, c]) => (c > 1 ? `${p}.* ×${c}` : names.find((n) => n.startsWith(p))!));
  return parts.join(', ') + (prefixes.size > 6 ? ', ...' : '');
}
