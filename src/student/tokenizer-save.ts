/**
 * Saving the BERT tokenizer in Hugging Face's files: tokenizer_config.json and special_tokens_map.json (what
 * BertTokenizer / BertTokenizerFast read), and a tokenizer.json describing exactly this tokenizer
 * (BertNormalizer, BertPreTokenizer, WordPiece, the [CLS] … [SEP] template) that loads in the `tokenizers`
 * library and transformers.js. tokenizer.ts's methods of the same names call these.
 */
import type { TokenizerSettings } from './tokenizer-settings.js';

/** tokenizer_config.json contents (BertTokenizer / BertTokenizerFast read these). */
export function tokenizerConfig(s: TokenizerSettings): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: s.lowercase,
    strip_accents: s.stripAccents,
    tokenize_chinese_chars: s.handleChineseChars,
    do_basic_tokenize: true,
    never_split: null,
    model_max_length: s.modelMaxLength,
    clean_up_tokenization_spaces: true,
    unk_token: s.special.unk,
    sep_token: s.special.sep,
    pad_token: s.special.pad,
    cls_token: s.special.cls,
    mask_token: s.special.mask,
  };
}

/** special_tokens_map.json contents */
export function specialTokensMap(settings: TokenizerSettings): Record<string, string> {
  const s = settings.special;
  return { unk_token: s.unk, sep_token: s.sep, pad_token: s.pad, cls_token: s.cls, mask_token: s.mask };
}

/** A Hugging Face tokenizer.json describing exactly this tokenizer (loads in tokenizers and transformers.js). */
export function tokenizerJson(
  s: TokenizerSettings,
  ids: ReadonlyMap<string, number>,
  specialIds: ReadonlyMap<string, number>,
  clsId: number,
  sepId: number,
): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  ids.forEach((id, token) => {
    vocab[token] = id;
  });
  const added = [...specialIds.entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  const cls = s.special.cls;
  const sep = s.special.sep;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: s.cleanText,
      handle_chinese_chars: s.handleChineseChars,
      strip_accents: s.stripAccents,
      lowercase: s.lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [clsId], tokens: [cls] },
        [sep]: { id: sep, ids: [sepId], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: s.continuingSubwordPrefix, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: s.special.unk,
      continuing_subword_prefix: s.continuingSubwordPrefix,
      max_input_chars_per_word: s.maxInputCharsPerWord,
      vocab,
    },
  };
}
