/**
 * BERT encoder + token-classification head (Hugging Face BertForTokenClassification), written with the
 * graph ops. The same function builds the training graph (parameters as inputs, dropout masks as inputs),
 * the evaluation graph and the exported inference model (parameters as initializers).
 *
 * Activations are kept 2-D, [N = B·T, H], so every Linear is one Gemm on the [out, in] weight; only the
 * attention reshapes to [B, A, T, d], using the runtime shape of input_ids.
 */
import { Rng } from '../random.js';
import {
  add,
  dropout,
  embedding,
  gelu,
  geluScaled,
  layerNorm,
  linear,
  matmul,
  reshape,
  softmaxDropout,
  transpose,
  type Dim,
  type Graph,
  type Value,
} from './graph/index.js';
import type { BertConfig, NamedTensor, ParamMap } from './types.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'ones' | 'zeros';
  /** AdamW weight decay applies (not to biases or LayerNorm weights, as in Hugging Face's examples) */
  decay: boolean;
}

/** width of the embeddings: ELECTRA's `embedding_size` when set, else hidden_size */
export function embeddingSize(config: BertConfig): number {
  return typeof config.embedding_size === 'number' ? config.embedding_size : config.hidden_size;
}

export function numLabels(config: BertConfig): number {
  return Object.keys(config.id2label).length;
}

/** Every parameter of BertForTokenClassification, in Hugging Face's order, with [out, in] Linear weights. */
export function paramSpecs(config: BertConfig): ParamSpec[] {
  const specs = encoderParamSpecs(config);
  specs.push({
    name: 'classifier.weight',
    shape: [numLabels(config), config.hidden_size],
    init: 'normal',
    decay: true,
  });
  specs.push({ name: 'classifier.bias', shape: [numLabels(config)], init: 'zeros', decay: false });
  return specs;
}

/** The parameters of the BERT encoder (embeddings and layers, `bert.*`), shared by every head. */
export function encoderParamSpecs(config: BertConfig): ParamSpec[] {
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const specs: ParamSpec[] = [];
  const w = (name: string, shape: number[]) => specs.push({ name, shape, init: 'normal', decay: true });
  const b = (name: string, n: number) => specs.push({ name, shape: [n], init: 'zeros', decay: false });
  const ln = (prefix: string) => {
    specs.push({ name: `${prefix}.weight`, shape: [H], init: 'ones', decay: false });
    b(`${prefix}.bias`, H);
  };
  const dense = (prefix: string, out: number, inp: number) => {
    w(`${prefix}.weight`, [out, inp]);
    b(`${prefix}.bias`, out);
  };
  // ELECTRA's embeddings may be narrower (embedding_size E) and projected to H
  const E = embeddingSize(config);
  w('bert.embeddings.word_embeddings.weight', [config.vocab_size, E]);
  w('bert.embeddings.position_embeddings.weight', [config.max_position_embeddings, E]);
  w('bert.embeddings.token_type_embeddings.weight', [config.type_vocab_size, E]);
  specs.push({ name: 'bert.embeddings.LayerNorm.weight', shape: [E], init: 'ones', decay: false });
  b('bert.embeddings.LayerNorm.bias', E);
  if (E !== H) dense('bert.embeddings_project', H, E);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    dense(`${p}.attention.self.query`, H, H);
    dense(`${p}.attention.self.key`, H, H);
    dense(`${p}.attention.self.value`, H, H);
    dense(`${p}.attention.output.dense`, H, H);
    ln(`${p}.attention.output.LayerNorm`);
    dense(`${p}.intermediate.dense`, I, H);
    dense(`${p}.output.dense`, H, I);
    ln(`${p}.output.LayerNorm`);
  }
  return specs;
}

/** Hugging Face-style initialisation: N(0, initializer_range) weights and embeddings (padding row zeroed),
 * LayerNorm ones/zeros, zero biases; deterministic in `seed`. `specs`: another head's parameters (the
 * encoder's come first in every head, so they start identical for the same seed). */
export function initParams(config: BertConfig, seed: number, specs: ParamSpec[] = paramSpecs(config)): ParamMap {
  const rng = new Rng(seed, -1); // stream -1: never a step number (dropout streams)
  const params: ParamMap = new Map();
  for (const spec of specs) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal')
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * config.initializer_range;
    params.set(spec.name, { shape: spec.shape, data });
  }
  const pad = config.pad_token_id;
  if (typeof pad === 'number' && pad >= 0 && pad < config.vocab_size) {
    params
      .get('bert.embeddings.word_embeddings.weight')!
      .data.fill(0, pad * embeddingSize(config), (pad + 1) * embeddingSize(config));
  }
  return params;
}

/** Rejects configurations this implementation would silently compute differently from Hugging Face. */
export function checkConfig(config: BertConfig): void {
  checkEncoderConfig(config);
  if (numLabels(config) < 1) throw new Error('config.id2label is empty: a token classifier needs labels');
}

/** checkConfig without the label set (heads other than token classification). */
export function checkEncoderConfig(config: BertConfig): void {
  const act = String(config.hidden_act ?? 'gelu');
  if (act !== 'gelu' && act !== 'gelu_python')
    throw new Error(`hidden_act '${act}' is not supported (only 'gelu', the erf form)`);
  const pos = config.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute')
    throw new Error(`position_embedding_type '${String(pos)}' is not supported (only 'absolute')`);
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new Error(
      `hidden_size ${config.hidden_size} is not a multiple of num_attention_heads ${config.num_attention_heads}`,
    );
  }
}

/** Checks that `params` has every parameter with the right shape; names the first problem. */
export function checkParams(config: BertConfig, params: ParamMap): void {
  checkConfig(config);
  for (const spec of paramSpecs(config)) {
    const t: NamedTensor | undefined = params.get(spec.name);
    if (!t) throw new Error(`missing parameter ${spec.name}`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`parameter ${spec.name} has shape [${t.shape}], expected [${spec.shape}]`);
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`parameter ${spec.name} has ${t.data.length} values, expected ${n}`);
  }
}

export type DropoutSiteKind = 'hidden' | 'attention';
export interface DropoutSite {
  name: string;
  kind: DropoutSiteKind;
  p: number;
}

/** Where BertForTokenClassification applies dropout (each site's mask is an input of the training graph):
 * hidden sites have shape [B·T, H], attention sites [B, A, T, T]. */
export function dropoutSites(config: BertConfig): DropoutSite[] {
  const pc = typeof config.classifier_dropout === 'number' ? config.classifier_dropout : config.hidden_dropout_prob;
  return [...encoderDropoutSites(config), { name: 'dropout.classifier', kind: 'hidden' as const, p: pc }].filter(
    (s) => s.p > 0,
  );
}

/** The encoder's dropout sites (those of every head; BertForMaskedLM adds none). */
export function encoderDropoutSites(config: BertConfig): DropoutSite[] {
  const ph = config.hidden_dropout_prob;
  const pa = config.attention_probs_dropout_prob;
  const sites: DropoutSite[] = [{ name: 'dropout.embeddings', kind: 'hidden', p: ph }];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    sites.push({ name: `dropout.layer.${l}.attention_probs`, kind: 'attention', p: pa });
    sites.push({ name: `dropout.layer.${l}.attention_output`, kind: 'hidden', p: ph });
    sites.push({ name: `dropout.layer.${l}.output`, kind: 'hidden', p: ph });
  }
  return sites.filter((s) => s.p > 0);
}

export interface BertInputs {
  /** int64 [B, T] */
  inputIds: Value;
  /** int64 [B, T], 1 = token, 0 = padding */
  attentionMask: Value;
  /** int64 [B, T] */
  tokenTypeIds: Value;
}

/** Most negative float32, the value Hugging Face adds to masked attention scores. */
const MASK_VALUE = -3.4028234663852886e38;

/**
 * Builds the forward pass of BertForTokenClassification (buildEncoder, then dropout and the classifier);
 * returns logits of shape [B·T, numLabels] and [B, T, numLabels]. `masks` maps dropout site names to mask
 * inputs (training); omit for evaluation.
 */
export function buildBert(
  g: Graph,
  config: BertConfig,
  p: Map<string, Value>,
  x: BertInputs,
  masks?: Map<string, Value>,
): { logits2d: Value; logits3d: Value } {
  const { h, batchAndSeq } = buildEncoder(g, config, p, x, masks);
  const [Bd, Td] = x.inputIds.shape as [Dim, Dim];
  const L = numLabels(config);
  const P = (name: string) => {
    const v = p.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return v;
  };
  const logitsShape = g.op1('Concat', [batchAndSeq, g.ints([L])], [3], 'int64', { axis: 0 });
  const logits2d = linear(
    dropout(h, masks?.get('dropout.classifier') ?? null),
    P('classifier.weight'),
    P('classifier.bias'),
  );
  const logits3d = g.op1('Reshape', [logits2d, logitsShape], [Bd, Td, L]);
  return { logits2d, logits3d };
}

/**
 * The encoder (embeddings and layers): returns the last hidden states h [B·T, H] and the runtime shape
 * [B, T] (int64) for heads that reshape. `masks` maps dropout site names to mask inputs (training).
 */
export function buildEncoder(
  g: Graph,
  config: BertConfig,
  p: Map<string, Value>,
  x: BertInputs,
  masks?: Map<string, Value>,
): { h: Value; batchAndSeq: Value } {
  const H = config.hidden_size;
  const A = config.num_attention_heads;
  const d = H / A;
  if (!Number.isInteger(d)) throw new Error(`hidden_size ${H} is not a multiple of num_attention_heads ${A}`);
  const eps = config.layer_norm_eps;
  const P = (name: string) => {
    const v = p.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return v;
  };
  const drop = (site: string, v: Value) => dropout(v, masks?.get(site) ?? null);

  const [Bd, Td] = x.inputIds.shape as [Dim, Dim];
  const Nd: Dim = typeof Bd === 'number' && typeof Td === 'number' ? Bd * Td : 'N';
  // runtime sizes
  const bt = g.op1('Shape', [x.inputIds], [2], 'int64');
  const seqLen = g.op1('Gather', [bt, g.scalar(1, 'int64')], [], 'int64', { axis: 0 });
  const positions = g.op1('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [Td], 'int64');
  const headsShape = g.op1('Concat', [bt, g.ints([A, d])], [4], 'int64', { axis: 0 });

  // additive attention mask [B, 1, 1, T]: 0 for tokens, most-negative float for padding
  const maskF = g.op1('Cast', [x.attentionMask], [Bd, Td], g.dtype, { to: g.dtype === 'double' ? 11 : 1 });
  const inv = g.op1('Sub', [g.scalar(1), maskF], [Bd, Td]);
  const bias = g.op1(
    'Unsqueeze',
    [g.op1('Mul', [inv, g.scalar(MASK_VALUE)], [Bd, Td]), g.ints([1, 2])],
    [Bd, 1, 1, Td],
  );

  // embeddings
  let e = add(
    add(
      embedding(P('bert.embeddings.word_embeddings.weight'), x.inputIds),
      embedding(P('bert.embeddings.position_embeddings.weight'), positions),
    ),
    embedding(P('bert.embeddings.token_type_embeddings.weight'), x.tokenTypeIds),
  );
  const E = embeddingSize(config);
  e = layerNorm(
    reshape(e, [-1, E], [Nd, E]),
    P('bert.embeddings.LayerNorm.weight'),
    P('bert.embeddings.LayerNorm.bias'),
    eps,
  );
  // ELECTRA with embedding_size < hidden_size: a projection (its dropout then acts on the projected states)
  if (E !== H) e = linear(e, P('bert.embeddings_project.weight'), P('bert.embeddings_project.bias'));
  let h = drop('dropout.embeddings', e);

  for (let l = 0; l < config.num_hidden_layers; l++) {
    const pre = `bert.encoder.layer.${l}`;
    const lin = (name: string, v: Value) => linear(v, P(`${pre}.${name}.weight`), P(`${pre}.${name}.bias`));
    const heads = (v: Value, perm: number[]) => transpose(reshape(v, headsShape, [Bd, Td, A, d]), perm);
    const q = heads(lin('attention.self.query', h), [0, 2, 1, 3]); // [B, A, T, d]
    const k = heads(lin('attention.self.key', h), [0, 2, 1, 3]); // [B, A, T, d]
    const v = heads(lin('attention.self.value', h), [0, 2, 1, 3]); // [B, A, T, d]
    const scores = matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(d) }); // q kᵀ / √d
    const probs = softmaxDropout(add(scores, bias), masks?.get(`dropout.layer.${l}.attention_probs`) ?? null);
    const ctx = reshape(transpose(matmul(probs, v), [0, 2, 1, 3]), [-1, H], [Nd, H]);
    const attn = drop(`dropout.layer.${l}.attention_output`, lin('attention.output.dense', ctx));
    h = layerNorm(
      add(attn, h),
      P(`${pre}.attention.output.LayerNorm.weight`),
      P(`${pre}.attention.output.LayerNorm.bias`),
      eps,
    );
    const out = drop(
      `dropout.layer.${l}.output`,
      feedForward(
        h,
        P(`${pre}.intermediate.dense.weight`),
        P(`${pre}.intermediate.dense.bias`),
        P(`${pre}.output.dense.weight`),
        P(`${pre}.output.dense.bias`),
      ),
    );
    h = layerNorm(add(out, h), P(`${pre}.output.LayerNorm.weight`), P(`${pre}.output.LayerNorm.bias`), eps);
  }
  return { h, batchAndSeq: bt };
}

/**
 * The feed-forward block, gelu(x W₁ᵀ + b₁) W₂ᵀ + b₂. In training graphs GELU's constant factors ride on the
 * two Gemms (geluScaled: u = (x W₁ᵀ + b₁)/√2, then z = u·(1 + erf(u)) = √2·gelu, times 1/√2 in the second
 * Gemm), which saves two element-wise passes over [N, I] forward; inference graphs keep the plain pattern,
 * which onnxruntime fuses into one Gelu kernel.
 */
function feedForward(x: Value, w1: Value, b1: Value, w2: Value, b2: Value): Value {
  if (!x.requiresGrad) return linear(gelu(linear(x, w1, b1)), w2, b2);
  const u = linear(x, w1, b1, { alpha: Math.SQRT1_2, beta: Math.SQRT1_2 });
  return linear(geluScaled(u), w2, b2, { alpha: Math.SQRT1_2 });
}
