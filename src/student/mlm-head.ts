/**
 * Hugging Face BertForMaskedLM's head (`cls.predictions.*`), written with the graph ops, for pretraining
 * (pretrain.ts): the encoder's hidden states at the masked positions only are gathered first, so the
 * expensive softmax over the vocabulary runs on ~15% of the tokens:
 *
 *   h_m    = h[positions]                                   [M, H]
 *   t      = LayerNorm(gelu(h_m Wᵀ + b))                    cls.predictions.transform.{dense, LayerNorm}
 *   logits = t Eᵀ + cls.predictions.bias                    [M, V], E = the word embeddings (tied decoder)
 *   loss   = mean cross-entropy against the original tokens
 */
import { embedding, gelu, layerNorm, linear, sparseSoftmaxCrossEntropy, type Value } from './graph/index.js';
import type { ParamSpec } from './bert.js';
import type { BertConfig } from './types.js';

export const WORD_EMBEDDINGS = 'bert.embeddings.word_embeddings.weight';

/** The head's own parameters in Hugging Face's order (the decoder weight is the word embedding, tied). */
export function mlmHeadSpecs(config: BertConfig): ParamSpec[] {
  const H = config.hidden_size;
  return [
    { name: 'cls.predictions.bias', shape: [config.vocab_size], init: 'zeros', decay: false },
    { name: 'cls.predictions.transform.dense.weight', shape: [H, H], init: 'normal', decay: true },
    { name: 'cls.predictions.transform.dense.bias', shape: [H], init: 'zeros', decay: false },
    { name: 'cls.predictions.transform.LayerNorm.weight', shape: [H], init: 'ones', decay: false },
    { name: 'cls.predictions.transform.LayerNorm.bias', shape: [H], init: 'zeros', decay: false },
  ];
}

/** Masked-LM loss of hidden states h [N, H] at flat `positions` (int64 [M], into N) against `labels` (int64 [M]). */
export function buildMlmLoss(
  config: BertConfig,
  p: Map<string, Value>,
  h: Value,
  positions: Value,
  labels: Value,
): Value {
  const P = (name: string) => {
    const v = p.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return v;
  };
  const hm = embedding(h, positions); // a Gather of rows; its gradient scatters back into h's rows
  const dense = linear(hm, P('cls.predictions.transform.dense.weight'), P('cls.predictions.transform.dense.bias'));
  const t = layerNorm(
    gelu(dense),
    P('cls.predictions.transform.LayerNorm.weight'),
    P('cls.predictions.transform.LayerNorm.bias'),
    config.layer_norm_eps,
  );
  const logits = linear(t, P(WORD_EMBEDDINGS), P('cls.predictions.bias'));
  return sparseSoftmaxCrossEntropy(logits, labels);
}
