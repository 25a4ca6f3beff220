/** Model size presets (as in issue 3) and a helper that turns one into a full Hugging Face BertConfig. */
import type { BertConfig } from './types.js';

export const PRESETS = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2 },
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4 },
  small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12 },
} as const;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Hugging Face's BertConfig defaults for the fields a config.json may leave out. */
export const BERT_DEFAULTS = {
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
  hidden_act: 'gelu' as const,
  position_embedding_type: 'absolute',
  pad_token_id: 0,
};

/**
 * A fresh BertConfig for `preset`: intermediate size 4H, 512 positions, 2 token types, dropout 0.1,
 * LayerNorm eps 1e-12, initializer range 0.02 — the values of Hugging Face's bert-base configs.
 */
export function presetConfig(
  preset: PresetName,
  opts: { vocabSize: number; labels: string[]; padTokenId?: number; overrides?: Partial<BertConfig> },
): BertConfig {
  const p = PRESETS[preset];
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  opts.labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  return {
    architectures: ['BertForTokenClassification'],
    model_type: 'bert',
    vocab_size: opts.vocabSize,
    hidden_size: p.hidden_size,
    num_hidden_layers: p.num_hidden_layers,
    num_attention_heads: p.num_attention_heads,
    intermediate_size: 4 * p.hidden_size,
    max_position_embeddings: 512,
    ...BERT_DEFAULTS,
    pad_token_id: opts.padTokenId ?? 0,
    id2label,
    label2id,
    ...opts.overrides,
  };
}
