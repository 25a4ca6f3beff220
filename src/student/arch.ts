/**
 * Encoder architectures that are BERT's computation under other names, mapped onto the one BERT graph
 * (bert.ts) on load and back to their own Hugging Face names on save, so that a checkpoint nerd writes
 * loads in `DistilBertForTokenClassification` / `ElectraForTokenClassification` by its names:
 *
 * - DistilBERT: the same post-LayerNorm encoder (LayerNorm eps 1e-12, GELU) with its own parameter names
 *   (`distilbert.transformer.layer.N.attention.q_lin`, `sa_layer_norm`, `ffn.lin1`, ...) and no token
 *   types. Loaded as BERT with one token type whose embedding row is zero; a row that training moved
 *   is folded into the position embeddings on save (every token adds it, so the sum is unchanged).
 * - ELECTRA discriminators: BERT under the prefix `electra.`; a narrower `embedding_size` (electra-small)
 *   adds the `embeddings_project` Linear that bert.ts builds when embedding_size ≠ hidden_size.
 *
 * - RoBERTa / XLM-RoBERTa: BERT under the prefix `roberta.` whose position ids start at padding_idx + 1;
 *   the position table is loaded without its first padding_idx + 1 rows and saved with them (zero) again.
 *   Their byte-level BPE / Unigram tokenizers run through Hugging Face's `tokenizers` (tokenizer-hf.ts).

 */
import { InputError } from '../errors.js';
import type { BertConfig, NamedTensor, ParamMap } from './types.js';

export type Arch = 'bert' | 'distilbert' | 'electra' | 'roberta';

/** the architecture a config.json (or an in-memory BertConfig) describes; other model types are refused */
export function archOf(raw: Record<string, unknown>, file?: string): Arch {
  const t = raw.model_type;
  if (t === undefined || t === 'bert') return 'bert';
  if (t === 'distilbert' || t === 'electra') return t;
  if (t === 'roberta' || t === 'xlm-roberta') return 'roberta';
  throw new InputError(
    `model_type "${String(t)}" is not supported (bert, distilbert, electra, roberta, xlm-roberta)`,
    file,
  );
}

/** RoBERTa's first position id: padding_idx + 1 (its position table has that many rows BERT's lacks) */
export function positionOffset(raw: Record<string, unknown>): number {
  return (typeof raw.pad_token_id === 'number' ? raw.pad_token_id : 1) + 1;
}

/** config.json of a DistilBERT/ELECTRA model in BertConfig's field names (model_type kept); BERT unchanged */
export function toBertFields<T extends Record<string, unknown>>(raw: T, file?: string): T {
  const arch = archOf(raw, file);
  if (arch === 'distilbert') {
    const out: Record<string, unknown> = {
      ...raw,
      hidden_size: raw.dim ?? 768,
      num_hidden_layers: raw.n_layers ?? 6,
      num_attention_heads: raw.n_heads ?? 12,
      intermediate_size: raw.hidden_dim ?? 3072,
      max_position_embeddings: raw.max_position_embeddings ?? 512,
      hidden_act: raw.activation ?? 'gelu',
      hidden_dropout_prob: raw.dropout ?? 0.1,
      attention_probs_dropout_prob: raw.attention_dropout ?? 0.1,
      type_vocab_size: 1,
      layer_norm_eps: 1e-12,
    };
    for (const k of ['dim', 'n_layers', 'n_heads', 'hidden_dim', 'activation', 'dropout', 'attention_dropout'])
      delete out[k];
    return out as T;
  }
  if (arch === 'electra') {
    const e = raw.embedding_size;
    if (e !== undefined && (typeof e !== 'number' || !Number.isInteger(e) || e <= 0)) {
      throw new InputError(`"embedding_size" must be a positive integer, got ${JSON.stringify(e)}`, file);
    }
    return { ...raw };
  }
  if (arch === 'roberta') {
    const max = typeof raw.max_position_embeddings === 'number' ? raw.max_position_embeddings : 514;
    return { ...raw, max_position_embeddings: max - positionOffset(raw) };
  }
  return raw;
}

/**
 * The BERT name (`bert.*`, `classifier.*`) a tensor of `arch`'s checkpoint maps to, or the name unchanged
 * for BERT (checkpoint.ts' `canonicalName` then applies BERT's own rules); null for tensors token
 * classification does not use (heads, buffers).
 */
export function toBertName(arch: Arch, name: string): string | null {
  if (arch === 'bert' || name === 'classifier.weight' || name === 'classifier.bias') return name;
  if (arch === 'electra' || arch === 'roberta') {
    const prefix = `${arch}.`;
    const n = name.startsWith(prefix) ? name.slice(prefix.length) : name;
    if (n === 'embeddings.token_type_ids') return null;
    if (n === 'embeddings.position_ids') return null;
    return /^(embeddings|encoder|embeddings_project)\./.test(n) ? `bert.${n}` : null;
  }
  const n = name.startsWith('distilbert.') ? name.slice('distilbert.'.length) : name;
  if (n.startsWith('embeddings.')) return n === 'embeddings.position_ids' ? null : `bert.${n}`;
  const m = /^transformer\.layer\.(\d+)\.(.+)$/.exec(n);
  if (!m) return null;
  const rest = DISTIL_TO_BERT[m[2]!.replace(/\.(weight|bias)$/, '')];
  const suffix = m[2]!.endsWith('.weight') ? 'weight' : 'bias';
  return rest ? `bert.encoder.layer.${m[1]}.${rest}.${suffix}` : null;
}

const DISTIL_TO_BERT: Record<string, string> = {
  'attention.q_lin': 'attention.self.query',
  'attention.k_lin': 'attention.self.key',
  'attention.v_lin': 'attention.self.value',
  'attention.out_lin': 'attention.output.dense',
  sa_layer_norm: 'attention.output.LayerNorm',
  'ffn.lin1': 'intermediate.dense',
  'ffn.lin2': 'output.dense',
  output_layer_norm: 'output.LayerNorm',
};
const BERT_TO_DISTIL = Object.fromEntries(Object.entries(DISTIL_TO_BERT).map(([a, b]) => [b, a]));

/**
 * A tensor as BERT's graph wants it: RoBERTa's position table without its first padding_idx + 1 rows (BERT
 * numbers positions from 0, RoBERTa from padding_idx + 1; padded positions, which differ, are masked).
 */
export function adaptTensor<T extends NamedTensor>(
  arch: Arch,
  bertName: string,
  t: T,
  raw: Record<string, unknown>,
): T {
  if (arch !== 'roberta' || bertName !== 'bert.embeddings.position_embeddings.weight' || t.shape.length !== 2) return t;
  const k = positionOffset(raw);
  const H = t.shape[1]!;
  return { ...t, shape: [t.shape[0]! - k, H], data: t.data.slice(k * H) };
}

/** parameters BERT's graph needs that `arch`'s checkpoints lack (DistilBERT: a zero token-type row) */
export function completeParams(arch: Arch, config: BertConfig, params: ParamMap): void {
  if (arch === 'distilbert' && !params.has('bert.embeddings.token_type_embeddings.weight')) {
    params.set('bert.embeddings.token_type_embeddings.weight', {
      shape: [1, config.hidden_size],
      data: new Float32Array(config.hidden_size),
    });
  }
}

/** config.json as `arch`'s own config class writes it (BertConfig fields renamed back) */
export function configForArch(arch: Arch, out: Record<string, unknown>): Record<string, unknown> {
  if (arch === 'bert') return out;
  if (arch === 'electra') {
    return {
      ...out,
      model_type: 'electra',
      architectures: ['ElectraForTokenClassification'],
      embedding_size: out.embedding_size ?? out.hidden_size,
    };
  }
  if (arch === 'roberta') {
    const xlm = out.model_type === 'xlm-roberta';
    return {
      ...out,
      architectures: [xlm ? 'XLMRobertaForTokenClassification' : 'RobertaForTokenClassification'],
      max_position_embeddings: (out.max_position_embeddings as number) + positionOffset(out),
    };
  }
  const d: Record<string, unknown> = {
    ...out,
    model_type: 'distilbert',
    architectures: ['DistilBertForTokenClassification'],
    dim: out.hidden_size,
    n_layers: out.num_hidden_layers,
    n_heads: out.num_attention_heads,
    hidden_dim: out.intermediate_size,
    activation: out.hidden_act,
    dropout: out.hidden_dropout_prob,
    attention_dropout: out.attention_probs_dropout_prob,
    sinusoidal_pos_embds: false,
    tie_weights_: true,
    qa_dropout: out.qa_dropout ?? 0.1,
    seq_classif_dropout: out.seq_classif_dropout ?? 0.2,
  };
  for (const k of [
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'hidden_act',
    'hidden_dropout_prob',
    'attention_probs_dropout_prob',
    'type_vocab_size',
    'layer_norm_eps',
    'position_embedding_type',
  ]) {
    delete d[k];
  }
  return d;
}

/** parameters under `arch`'s Hugging Face names, in the given (BERT) order */
export function paramsForArch(
  arch: Arch,
  params: ReadonlyMap<string, NamedTensor>,
  raw: Record<string, unknown> = {},
): Map<string, NamedTensor> {
  if (arch === 'bert') return new Map(params);
  const out = new Map<string, NamedTensor>();
  if (arch === 'electra' || arch === 'roberta') {
    for (const [name, t] of params) {
      let v = t;
      if (arch === 'roberta' && name === 'bert.embeddings.position_embeddings.weight') {
        // back to RoBERTa's numbering: padding_idx + 1 leading rows, zero (rows a padded position reads)
        const k = positionOffset(raw);
        const H = t.shape[1]!;
        const data = new Float32Array((t.shape[0]! + k) * H);
        data.set(t.data, k * H);
        v = { shape: [t.shape[0]! + k, H], data };
      }
      out.set(name.startsWith('bert.') ? `${arch}.${name.slice(5)}` : name, v);
    }
    return out;
  }
  const types = params.get('bert.embeddings.token_type_embeddings.weight');
  for (const [name, t] of params) {
    if (name === 'bert.embeddings.token_type_embeddings.weight') continue;
    if (name === 'bert.embeddings.position_embeddings.weight' && types) {
      // every token adds token-type row 0: fold it into each position row
      const H = t.shape[1]!;
      const data = new Float32Array(t.data);
      for (let p = 0; p < t.shape[0]!; p++) for (let h = 0; h < H; h++) data[p * H + h]! += types.data[h]!;
      out.set('distilbert.embeddings.position_embeddings.weight', { shape: t.shape, data });
      continue;
    }
    if (name.startsWith('bert.embeddings.')) {
      out.set(`distilbert.${name.slice(5)}`, t);
      continue;
    }
    const m = /^bert\.encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
    const d = m && BERT_TO_DISTIL[m[2]!];
    out.set(d ? `distilbert.transformer.layer.${m![1]}.${d}.${m![3]}` : name, t);
  }
  return out;
}
