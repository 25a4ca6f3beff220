/**
 * Masked-LM checkpoints (Hugging Face BertForMaskedLM layout) and the pretrainer's resume state.
 *
 *   OUT/model/   config.json (architectures ["BertForMaskedLM"], no labels), model.safetensors with `bert.*`
 *                and `cls.predictions.*` (the decoder weight is the word embedding, tied, so it is not
 *                stored: as save_pretrained writes tied weights), vocab.txt and the tokenizer files.
 *                `nerd train --model OUT/model` fine-tunes it (the `cls.*` head is ignored there, a fresh
 *                classifier is made); `nerd pretrain --model OUT/model` continues its pretraining.
 *   OUT/last/    model/ (as above), optimizer.safetensors (AdamW moments), pretrainer_state.json
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encoderParamSpecs, initParams } from './bert.js';
import { loadCheckpoint } from './checkpoint.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { parseHubName } from './hub.js';
import { resolveModelDir } from './model-folder.js';
import { mlmHeadSpecs } from './mlm-head.js';
import { isPresetName, presetConfig, PRESETS } from './presets.js';
import { Tokenizer } from './tokenizer.js';
import { readOptimizerState, recoverDir, writeDirAtomically, writeOptimizerState } from './train-state.js';
import { InputError } from '../errors.js';
import type { BertConfig, NamedTensor, OptimizerState, ParamMap } from './types.js';

export interface MlmModel {
  config: BertConfig;
  params: ParamMap;
  tokenizer: Tokenizer;
  notes: string[];
}

/** the parameters a masked-LM model trains, in Hugging Face's order */
export function mlmParamSpecs(config: BertConfig) {
  return [...encoderParamSpecs(config), ...mlmHeadSpecs(config)];
}

/** A preset with fresh weights, or a checkpoint folder (any BERT: its `cls.predictions` head if it has one). */
export async function loadMlmModel(
  model: string,
  opts: { seed: number; vocab?: string; lowercase?: boolean; maxSeq?: number; dropout?: number },
): Promise<MlmModel> {
  let m: MlmModel;
  if (isPresetName(model)) {
    if (!opts.vocab || !existsSync(opts.vocab)) {
      throw new InputError(`vocabulary file not found (a fresh ${model} model needs --vocab FILE)`, opts.vocab);
    }
    const tokenizer = await Tokenizer.fromVocabFile(opts.vocab, {
      lowercase: opts.lowercase ?? false,
      ...(opts.maxSeq ? { modelMaxLength: opts.maxSeq } : {}),
    });
    const config = presetConfig(model, { vocabSize: tokenizer.vocabSize, labels: [], padTokenId: tokenizer.padId });
    config.architectures = ['BertForMaskedLM'];
    m = { config, params: initParams(config, opts.seed, mlmParamSpecs(config)), tokenizer, notes: [] };
  } else {
    if (!existsSync(model) && !parseHubName(model)) {
      throw new InputError(
        `no such model: "${model}" is neither a preset (${Object.keys(PRESETS).join(', ')}), a folder nor a hub name ORG/NAME`,
      );
    }
    // a hub name ORG/NAME[@REVISION] becomes its snapshot folder in the hub cache (downloaded when missing)
    const ck = await loadCheckpoint(await resolveModelDir(model));
    const config: BertConfig = { ...ck.config, id2label: {}, label2id: {}, architectures: ['BertForMaskedLM'] };
    const params: ParamMap = new Map();
    for (const s of encoderParamSpecs(config)) params.set(s.name, ck.params.get(s.name)!);
    const notes = ck.notes.filter((n) => !n.includes('classifier') && !n.startsWith('ignored'));
    const head = await readHead(model, config);
    if (head) for (const [k, v] of head) params.set(k, v);
    else {
      const fresh = initParams(config, opts.seed, mlmHeadSpecs(config));
      for (const [k, v] of fresh) params.set(k, v);
      notes.push(`${model} has no masked-LM head (cls.predictions.*): initialised a fresh one`);
    }
    m = { config, params, tokenizer: ck.tokenizer, notes };
  }
  if (m.tokenizer.maskId < 0)
    throw new InputError('the tokenizer has no mask token ([MASK]): masked-LM pretraining needs one', model);
  if (opts.dropout !== undefined) {
    m.config.hidden_dropout_prob = opts.dropout;
    m.config.attention_probs_dropout_prob = opts.dropout;
  }
  return m;
}

/** cls.predictions.* of a folder's model.safetensors, or null when it has none (or not all of them) */
async function readHead(dir: string, config: BertConfig): Promise<ParamMap | null> {
  const file = path.join(dir, 'model.safetensors');
  if (!existsSync(file)) return null;
  const { tensors } = await readSafetensors(file, { select: (n) => n.startsWith('cls.predictions.') });
  // HF writes the decoder bias as cls.predictions.bias (cls.predictions.decoder.bias is the same tensor)
  if (!tensors.has('cls.predictions.bias') && tensors.has('cls.predictions.decoder.bias')) {
    tensors.set('cls.predictions.bias', tensors.get('cls.predictions.decoder.bias')!);
  }
  const out: ParamMap = new Map();
  for (const s of mlmHeadSpecs(config)) {
    const t = tensors.get(s.name);
    if (!t) return null;
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new InputError(`${s.name} has shape [${t.shape}], config.json implies [${s.shape}]`, file);
    }
    out.set(s.name, { shape: s.shape, data: t.data });
  }
  return out;
}

function configJson(config: BertConfig): string {
  const { id2label: _a, label2id: _b, ...rest } = config;
  const out: Record<string, unknown> = {
    ...rest,
    architectures: ['BertForMaskedLM'],
    model_type: 'bert',
    torch_dtype: 'float32',
    tie_word_embeddings: true,
  };
  const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** Writes a BertForMaskedLM checkpoint folder into `dir` (which must not exist or be empty). */
async function fillMlmFolder(dir: string, m: Omit<MlmModel, 'notes'>): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), configJson(m.config));
  const ordered = new Map<string, NamedTensor>();
  for (const s of mlmParamSpecs(m.config)) ordered.set(s.name, m.params.get(s.name)!);
  await writeSafetensors(path.join(dir, 'model.safetensors'), ordered, { format: 'pt' });
  await writeFile(path.join(dir, 'vocab.txt'), m.tokenizer.vocabText());
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(m.tokenizer.toTokenizerJson()));
  await writeFile(
    path.join(dir, 'tokenizer_config.json'),
    `${JSON.stringify(m.tokenizer.tokenizerConfig(), null, 2)}\n`,
  );
  await writeFile(
    path.join(dir, 'special_tokens_map.json'),
    `${JSON.stringify(m.tokenizer.specialTokensMap(), null, 2)}\n`,
  );
}

/** OUT/model: the checkpoint, replaced atomically (a kill leaves the old or the new one). */
export async function saveMlmCheckpoint(
  dir: string,
  m: Omit<MlmModel, 'notes'>,
  info: Record<string, unknown>,
): Promise<void> {
  await writeDirAtomically(dir, async (tmp) => {
    await fillMlmFolder(tmp, m);
    await writeFile(path.join(tmp, 'pretrain.json'), `${JSON.stringify(info, null, 2)}\n`);
  });
}

/** OUT/last: model/ + optimizer.safetensors + pretrainer_state.json, replaced atomically. */
export async function savePretrainState(
  dir: string,
  m: Omit<MlmModel, 'notes'>,
  optimizer: OptimizerState,
  state: object,
): Promise<void> {
  await writeDirAtomically(dir, async (tmp) => {
    await fillMlmFolder(path.join(tmp, 'model'), m);
    await writeOptimizerState(tmp, m.params, optimizer);
    await writeFile(path.join(tmp, 'pretrainer_state.json'), `${JSON.stringify(state)}\n`);
  });
}

export async function loadPretrainState<S>(dir: string): Promise<{ state: S; optimizer: OptimizerState } | null> {
  await recoverDir(dir);
  const stateFile = path.join(dir, 'pretrainer_state.json');
  if (!existsSync(stateFile)) return null;
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as S;
  return { state, optimizer: await readOptimizerState(dir) };
}

/**
 * Was `model` (a folder) written by `nerd pretrain`? Such a student is small and barely trained: `train`
 * fine-tunes it at a preset's learning rate rather than the 5e-5 meant for large pretrained models (at 1%
 * of CoNLL-2003 a pretrained `tiny` fine-tuned at 3e-4 scored 8.5 F1, at 1e-3 19.9; README).
 */
export function writtenByPretrain(model: string | undefined): boolean {
  return model !== undefined && !isPresetName(model) && existsSync(path.join(model, 'pretrain.json'));
}
