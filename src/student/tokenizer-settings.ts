/**
 * The BERT tokenizer's settings and result shapes: the special tokens, the normaliser/WordPiece settings
 * (with bert-base-cased's defaults), and the sub-word encodings a text or one pre-split word becomes. Shared
 * by the tokenizer (tokenizer.ts), its loading and saving (tokenizer-load.ts, tokenizer-save.ts) and the
 * wrapper of Hugging Face's tokenizers (tokenizer-hf.ts).
 */
export interface SpecialTokens {
  unk: string;
  cls: string;
  sep: string;
  pad: string;
  mask: string;
}

export interface TokenizerSettings {
  /** BertNormalizer.clean_text */
  cleanText: boolean;
  /** BertNormalizer.handle_chinese_chars / tokenize_chinese_chars */
  handleChineseChars: boolean;
  /** BertNormalizer.lowercase / do_lower_case */
  lowercase: boolean;
  /** BertNormalizer.strip_accents: null = same as `lowercase` */
  stripAccents: boolean | null;
  maxInputCharsPerWord: number;
  continuingSubwordPrefix: string;
  special: SpecialTokens;
  /** tokenizer_config.json model_max_length; caps a prediction window's sub-words (as the model's maximum does) */
  modelMaxLength: number;
}

export const DEFAULT_SPECIAL: SpecialTokens = {
  unk: '[UNK]',
  cls: '[CLS]',
  sep: '[SEP]',
  pad: '[PAD]',
  mask: '[MASK]',
};

/** Settings of bert-base-cased; pass `{ lowercase: true }` for uncased vocabularies. */
export function defaultSettings(overrides: Partial<TokenizerSettings> = {}): TokenizerSettings {
  return {
    cleanText: true,
    handleChineseChars: true,
    lowercase: false,
    stripAccents: null,
    maxInputCharsPerWord: 100,
    continuingSubwordPrefix: '##',
    modelMaxLength: 512,
    ...overrides,
    special: { ...DEFAULT_SPECIAL, ...overrides.special },
  };
}

/** Sub-words of a text: parallel arrays, offsets in UTF-16 code units of the input. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /** [start, end) into the input text; [0, 0] for added [CLS]/[SEP] */
  offsets: Array<[number, number]>;
  /** 1 for [CLS]/[SEP] added by `encode` and for special tokens found in the text */
  specialTokensMask: number[];
}

/** One word's sub-words, offsets relative to the word. */
export interface WordPieces {
  ids: readonly number[];
  offsets: ReadonlyArray<readonly [number, number]>;
}
