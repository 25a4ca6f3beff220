/**
 * Loading the BERT tokenizer from Hugging Face's files: the settings, vocabulary and added tokens of a
 * tokenizer.json (WordPiece model with BertNormalizer and BertPreTokenizer; anything else is refused with the
 * reason), the overrides a tokenizer_config.json makes, and the JSON-object file reader they share.
 * Tokenizer.fromTokenizerJson / fromDirectory (tokenizer.ts) build the tokenizer from these.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readJsonFile as readJsonValue } from '../files.js';
import { DEFAULT_SPECIAL, type SpecialTokens, type TokenizerSettings } from './tokenizer-settings.js';

/**
 * Settings of a parsed Hugging Face tokenizer.json (WordPiece model, BertNormalizer, BertPreTokenizer):
 * the vocabulary by id (added tokens may extend it), the settings with `overrides` applied, and the added
 * tokens to match verbatim. Throws InputError (naming `file`) for anything this tokenizer cannot run.
 */
export function parseTokenizerJson(
  json: unknown,
  file: string | undefined,
  overrides: Partial<TokenizerSettings>,
): { vocab: string[]; settings: Partial<TokenizerSettings>; extra: Map<string, number> } {
  const fail = (msg: string): never => {
    throw new InputError(msg, file);
  };
  if (typeof json !== 'object' || json === null) fail('tokenizer.json is not a JSON object');
  const j = json as Record<string, any>;
  const model = j.model;
  if (!model || model.type !== 'WordPiece')
    fail(`unsupported tokenizer model "${model?.type}" (need WordPiece, as BERT)`);
  if (typeof model.vocab !== 'object' || model.vocab === null) fail('tokenizer.json model.vocab is missing');
  const entries = Object.entries(model.vocab as Record<string, unknown>);
  const vocab: string[] = new Array(entries.length);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(`bad id for token "${token}"`);
    vocab[id as number] = token;
  }
  // added tokens may extend the vocabulary (ids after the WordPiece model's)
  for (const t of Array.isArray(j.added_tokens) ? j.added_tokens : []) {
    if (typeof t?.content === 'string' && Number.isInteger(t.id) && t.id >= 0 && vocab[t.id] === undefined)
      vocab[t.id] = t.content;
  }
  for (let i = 0; i < vocab.length; i++) if (vocab[i] === undefined) fail(`vocabulary has no token with id ${i}`);

  const settings: Partial<TokenizerSettings> = {
    maxInputCharsPerWord: model.max_input_chars_per_word ?? 100,
    continuingSubwordPrefix: model.continuing_subword_prefix ?? '##',
  };
  const norm = findNormalizer(j.normalizer, fail);
  if (norm) {
    settings.cleanText = norm.clean_text ?? true;
    settings.handleChineseChars = norm.handle_chinese_chars ?? true;
    settings.lowercase = norm.lowercase ?? true;
    settings.stripAccents = norm.strip_accents ?? null;
  } else {
    settings.cleanText = false;
    settings.handleChineseChars = false;
    settings.lowercase = false;
    settings.stripAccents = false;
  }
  if (j.pre_tokenizer && !isBertPreTokenizer(j.pre_tokenizer)) {
    fail(`unsupported pre_tokenizer "${j.pre_tokenizer.type}" (need BertPreTokenizer)`);
  }
  const special: Partial<SpecialTokens> = { unk: model.unk_token ?? '[UNK]' };
  const pp = j.post_processor;
  if (pp?.type === 'BertProcessing') {
    special.cls = pp.cls?.[0];
    special.sep = pp.sep?.[0];
  } else if (pp?.type === 'TemplateProcessing' && Array.isArray(pp.single)) {
    const specials = pp.single.filter((p: any) => p.SpecialToken).map((p: any) => p.SpecialToken.id as string);
    if (specials.length >= 2) {
      special.cls = specials[0];
      special.sep = specials[specials.length - 1];
    }
  }
  const extra = new Map<string, number>();
  for (const t of Array.isArray(j.added_tokens) ? j.added_tokens : []) {
    if (typeof t?.content === 'string' && typeof t.id === 'number') {
      extra.set(t.content, t.id);
      if (t.content === '[PAD]') special.pad = t.content;
      if (t.content === '[MASK]') special.mask = t.content;
    }
  }
  const merged = {
    ...settings,
    ...overrides,
    special: { ...DEFAULT_SPECIAL, ...clean(special), ...overrides.special },
  };
  return { vocab, settings: merged, extra };
}

/**
 * tokenizer_config.json of a model folder, if present: the settings it overrides (do_lower_case,
 * strip_accents, tokenize_chinese_chars, model_max_length, the special tokens), as BertTokenizerFast reads
 * them, and the whole config.
 */
export async function readTokenizerConfig(
  dir: string,
): Promise<{ overrides: Partial<TokenizerSettings>; cfg: Record<string, any> }> {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const overrides: Partial<TokenizerSettings> = {};
  let cfg: Record<string, any> = {};
  if (existsSync(configFile)) {
    cfg = await readJsonFile(configFile);
    if (typeof cfg.do_lower_case === 'boolean') overrides.lowercase = cfg.do_lower_case;
    if (cfg.strip_accents === null || typeof cfg.strip_accents === 'boolean')
      overrides.stripAccents = cfg.strip_accents;
    if (typeof cfg.tokenize_chinese_chars === 'boolean') overrides.handleChineseChars = cfg.tokenize_chinese_chars;
    if (typeof cfg.model_max_length === 'number' && cfg.model_max_length < 1e9)
      overrides.modelMaxLength = cfg.model_max_length;
    const sp: Partial<SpecialTokens> = {};
    for (const [key, role] of [
      ['unk_token', 'unk'],
      ['cls_token', 'cls'],
      ['sep_token', 'sep'],
      ['pad_token', 'pad'],
      ['mask_token', 'mask'],
    ] as const) {
      const v = cfg[key];
      const s = typeof v === 'string' ? v : typeof v?.content === 'string' ? v.content : undefined;
      if (s !== undefined) sp[role] = s;
    }
    overrides.special = { ...DEFAULT_SPECIAL, ...sp };
  }
  return { overrides, cfg };
}

function findNormalizer(n: any, fail: (m: string) => never): Record<string, any> | null {
  if (n === null || n === undefined) return null;
  if (n.type === 'BertNormalizer') return n;
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const berts = n.normalizers.filter((x: any) => x?.type === 'BertNormalizer');
    const others = n.normalizers.filter((x: any) => x?.type !== 'BertNormalizer');
    if (berts.length === 1 && others.length === 0) return berts[0];
  }
  return fail(`unsupported normalizer "${n.type}" (need BertNormalizer)`);
}

function isBertPreTokenizer(p: any): boolean {
  if (p?.type === 'BertPreTokenizer') return true;
  if (p?.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    return p.pretokenizers.length === 1 && p.pretokenizers[0]?.type === 'BertPreTokenizer';
  }
  return false;
}

function clean<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A JSON file that must hold an object (InputError naming the file otherwise). */
export async function readJsonFile(file: string): Promise<Record<string, any>> {
  const v = await readJsonValue(file);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InputError('invalid JSON: not a JSON object', file);
  return v as Record<string, any>;
}
