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
 * `saveCheckpoint` (checkpoint-save.ts) builds the folder beside the target and swaps it in with renames, so a crash leaves
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
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { adaptTensor, archOf, toBertName } from './arch.js';
import { Rng } from '../random.js';
import type { ReadTensor } from './safetensors.js';
import { Tokenizer } from './tokenizer.js';
import type { BertConfig, ParamMap } from './types.js';
import {
  bertParamShapes,
  canonicalName,
  labelMaps,
  labelsOf,
  readBertConfig,
  readWeights,
  recoverCheckpointDir,
  weightFiles,
} from './checkpoint-files.js';

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
