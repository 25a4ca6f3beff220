/**
 * Contracts between the student's parts: the engine (graph → ONNX → onnxruntime training step), the
 * trainer (batches, epochs, checkpoints) and the checkpoint/tokenizer code. Kept in one small file so each
 * part can be built and tested on its own.
 */

/** Hugging Face BertConfig fields we use (names as in config.json). */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  initializer_range: number;
  hidden_act: 'gelu';
  /** token-classification labels, index → label, e.g. {0: "O", 1: "B-PER", ...} */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  pad_token_id?: number;
  [extra: string]: unknown;
}

/** A named float32 tensor (row-major), e.g. `bert.encoder.layer.0.attention.self.query.weight`. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** All parameters by Hugging Face name. Order of insertion is the canonical order. */
export type ParamMap = Map<string, NamedTensor>;

/** One padded batch of sub-word sequences, row-major [batch, seq]. */
export interface Batch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding */
  attentionMask: Int32Array;
  /** segment ids (token_type_ids); all 0 when absent */
  tokenTypeIds?: Int32Array;
  /** label id per sub-word; -100 = ignored (padding, [CLS]/[SEP], non-first sub-words) */
  labels?: Int32Array;
  /** optional per-sub-word loss weight (e.g. teacher vote confidence); defaults to 1 */
  weights?: Float32Array;
}

export interface OptimizerSettings {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** clip the global gradient L2 norm to this (0 = off) */
  maxGradNorm: number;
}

/** AdamW moments and step count, by parameter name, for checkpoint/resume. */
export interface OptimizerState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export interface StepResult {
  /** mean loss over non-ignored (weighted) positions */
  loss: number;
  /** global gradient norm before clipping */
  gradNorm: number;
}
