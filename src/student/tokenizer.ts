/**
 * BERT WordPiece tokenizer with character offsets, giving the same ids as Hugging Face's BertTokenizer
 * (the `tokenizers` crate's BertNormalizer + BertPreTokenizer + WordPiece, i.e. what `tokenizer.json`
 * describes and what transformers.js runs).
 *
 * Written here rather than wrapping @huggingface/tokenizers because that library returns no character
 * offsets, and offsets are what word alignment, span grounding and the review page need.
 *
 * Pipeline for one piece of text (between special tokens such as "[SEP]", which are matched verbatim
 * first, as HF's added tokens are):
 *   1. clean text: drop NUL, U+FFFD and control/format characters (U+FEFF, U+200B, ...); whitespace → space
 *   2. put spaces around CJK ideographs
 *   3. strip accents (NFD, drop non-spacing marks) when `stripAccents`, or when it is null and `lowercase`
 *   4. lower-case
 *   5. split on whitespace, and isolate every punctuation character (ASCII punctuation/symbols, Unicode P*)
 *   6. WordPiece: greedy longest match from the left, "##" on continuations; a word longer than
 *      `maxInputCharsPerWord` code points, or one with an unmatchable remainder, becomes one [UNK].
 *
 * Offsets are [start, end) in UTF-16 code units of the input string (JavaScript string indices), so
 * `text.slice(start, end)` is the original text a sub-word came from (e.g. "Café" for the uncased "cafe").
 *
 * Known, deliberate differences (see test/student/tokenizer.test.ts):
 * Where Hugging Face's implementations disagree we follow the Rust `tokenizers` crate (the "fast" tokenizer
 * that AutoTokenizer loads by default). Known differences (see test/student/tokenizer.test.ts):
 *   - CJK ideographs outside the BMP (U+20000...) are split as in Rust; transformers.js misses them
 *     (it tests UTF-16 code units). Rust's Extension E range starts at U+2B920 (Python: U+2B820).
 *   - Lower-casing is per character, as in Rust (capital sigma → σ, never the final ς that Python's and
 *     JavaScript's whole-string lower-casing give at a word end).
 *   - Unassigned code points (Cn) are kept, as transformers.js does; the Rust crate drops characters its
 *     (older) Unicode tables do not know, e.g. emoji newer than those tables. Either way such a word is
 *     rarely in the vocabulary.
 *   - With clean_text off, U+FEFF is not whitespace (Rust), where transformers.js splits on it.
 *   - Python's slow BertTokenizer also applies NFC first; the fast one (and we) do not.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readJsonFile as readJsonValue, readTextAsync } from '../files.js';
import { isChineseChar, isControl, isNonspacingMark, isPunctuation, isWhitespace } from './tokenizer-chars.js';

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

const WORD_CACHE_LIMIT = 200_000;

export class Tokenizer {
  readonly settings: TokenizerSettings;
  /** id → token (a vocab.txt line) */
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  private readonly specialPattern: RegExp | null;
  private readonly specialIds: Map<string, number>;
  private readonly stripAccents: boolean;
  private readonly wordCache = new Map<string, WordPieces>();

  /**
   * @param vocab tokens by id (vocab.txt order)
   * @param extraSpecial further special tokens matched verbatim in text (HF `added_tokens`), by content
   */
  constructor(
    vocab: readonly string[],
    settings: Partial<TokenizerSettings> = {},
    extraSpecial: Map<string, number> = new Map(),
  ) {
    this.settings = defaultSettings(settings);
    this.vocab = vocab;
    this.ids = new Map();
    // like HF's load_vocab: a duplicated line maps to its last index
    vocab.forEach((token, id) => this.ids.set(token, id));
    const need = (token: string, role: string): number => {
      const id = this.ids.get(token);
      if (id === undefined) throw new InputError(`vocabulary has no ${role} token "${token}"`);
      return id;
    };
    const sp = this.settings.special;
    this.unkId = need(sp.unk, 'unknown');
    this.clsId = need(sp.cls, 'classifier');
    this.sepId = need(sp.sep, 'separator');
    this.padId = need(sp.pad, 'padding');
    this.maskId = this.ids.get(sp.mask) ?? -1;
    this.specialIds = new Map(extraSpecial);
    for (const t of [sp.unk, sp.cls, sp.sep, sp.pad, sp.mask]) {
      const id = this.ids.get(t);
      if (id !== undefined && !this.specialIds.has(t)) this.specialIds.set(t, id);
    }
    const alternatives = [...this.specialIds.keys()]
      .filter((t) => t.length > 0)
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.specialPattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
    this.stripAccents = this.settings.stripAccents ?? this.settings.lowercase;
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** id of a token string, or undefined */
  tokenId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** token string of an id */
  idToken(id: number): string {
    const t = this.vocab[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocab.length})`);
    return t;
  }

  // ---------------------------------------------------------------- loading

  /** From the text of a vocab.txt (one token per line, id = line number). */
  static fromVocabText(text: string, settings: Partial<TokenizerSettings> = {}, file?: string): Tokenizer {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const vocab = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (vocab.length === 0) throw new InputError('vocabulary file is empty', file);
    try {
      return new Tokenizer(vocab, settings);
    } catch (e) {
      if (e instanceof InputError && file && !e.file) throw new InputError(e.message, file);
      throw e;
    }
  }

  static async fromVocabFile(file: string, settings: Partial<TokenizerSettings> = {}): Promise<Tokenizer> {
    const text = await readTextAsync(file, 'vocabulary');
    return Tokenizer.fromVocabText(text, settings, file);
  }

  /** From a parsed Hugging Face tokenizer.json (WordPiece model, BertNormalizer). */
  static fromTokenizerJson(json: unknown, file?: string, overrides: Partial<TokenizerSettings> = {}): Tokenizer {
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
    try {
      return new Tokenizer(vocab, merged, extra);
    } catch (e) {
      if (e instanceof InputError && file && !e.file) throw new InputError(e.message, file);
      throw e;
    }
  }

  /**
   * From a model folder: `tokenizer.json` if present, else `vocab.txt`; `tokenizer_config.json` (if present)
   * overrides do_lower_case / strip_accents / tokenize_chinese_chars and the special tokens, as
   * BertTokenizerFast does.
   */
  static async fromDirectory(dir: string): Promise<Tokenizer> {
    const configFile = path.join(dir, 'tokenizer_config.json');
    const overrides: Partial<TokenizerSettings> = {};
    let cfg: Record<string, any> = {};
    if (existsSync(configFile)) {
      cfg = await readJson(configFile);
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
    const jsonFile = path.join(dir, 'tokenizer.json');
    if (existsSync(jsonFile)) {
      const json = await readJson(jsonFile);
      // byte-level BPE (RoBERTa), Unigram (XLM-RoBERTa), ...: Hugging Face's tokenizers (tokenizer-hf.ts)
      if (json.model?.type !== 'WordPiece') {
        const { HfTokenizer } = await import('./tokenizer-hf.js');
        return HfTokenizer.fromJson(json, cfg, jsonFile);
      }
      return Tokenizer.fromTokenizerJson(json, jsonFile, overrides);
    }
    const vocabFile = path.join(dir, 'vocab.txt');
    if (!existsSync(vocabFile)) {
      throw new InputError('model folder has neither tokenizer.json nor vocab.txt', dir);
    }
    // BertTokenizer's own default is do_lower_case=True when tokenizer_config.json does not say
    if (overrides.lowercase === undefined) overrides.lowercase = true;
    return Tokenizer.fromVocabFile(vocabFile, overrides);
  }

  // ---------------------------------------------------------------- encoding

  /** Sub-words of `text` without [CLS]/[SEP]. */
  tokenize(text: string): Encoding {
    const out: Encoding = { ids: [], tokens: [], offsets: [], specialTokensMask: [] };
    const push = (id: number, start: number, end: number, special: number) => {
      out.ids.push(id);
      out.tokens.push(this.vocab[id]!);
      out.offsets.push([start, end]);
      out.specialTokensMask.push(special);
    };
    let from = 0;
    if (this.specialPattern) {
      for (const m of text.matchAll(this.specialPattern)) {
        this.splitText(text, from, m.index, (id, s, e) => push(id, s, e, 0));
        push(this.specialIds.get(m[0])!, m.index, m.index + m[0].length, 1);
        from = m.index + m[0].length;
      }
    }
    this.splitText(text, from, text.length, (id, s, e) => push(id, s, e, 0));
    return out;
  }

  /** `[CLS] sub-words [SEP]`, like HF's `tokenizer(text)` (no truncation: see align.ts for windows). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): Encoding {
    const enc = this.tokenize(text);
    if (opts.addSpecialTokens === false) return enc;
    return {
      ids: [this.clsId, ...enc.ids, this.sepId],
      tokens: [this.vocab[this.clsId]!, ...enc.tokens, this.vocab[this.sepId]!],
      offsets: [[0, 0], ...enc.offsets, [0, 0]],
      specialTokensMask: [1, ...enc.specialTokensMask, 1],
    };
  }

  /**
   * Sub-words of one pre-split word (as HF's `is_split_into_words`), offsets relative to the word; cached.
   * May be empty (a word of only control characters); `wordIds`, which align.ts encodes with, makes it [UNK].
   */
  encodeWord(word: string): WordPieces {
    let hit = this.wordCache.get(word);
    if (hit) return hit;
    const enc = this.tokenize(word);
    hit = { ids: enc.ids, offsets: enc.offsets };
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, hit);
    return hit;
  }

  /**
   * Sub-word ids of one pre-split word for labelling: never empty. A word whose characters all vanish
   * (only control/format characters such as U+FEFF or U+200B) becomes one [UNK], so that every word of a
   * sentence has a first sub-word to carry (and receive) its label. (HF's `is_split_into_words` would give
   * such a word no sub-word and no prediction.)
   */
  wordIds(word: string): number[] {
    const ids = this.encodeWord(word).ids;
    return ids.length > 0 ? ids.slice() : [this.unkId];
  }

  /**
   * The words BERT's basic tokenizer sees in raw text (whitespace split, each punctuation character and
   * CJK ideograph on its own), as slices of the ORIGINAL text with [start, end) offsets in UTF-16 code
   * units. Words made only of removed characters (control/format) are dropped; special-token strings
   * such as "[SEP]" are kept as one word.
   */
  splitWords(text: string): Array<{ word: string; start: number; end: number }> {
    const out: Array<{ word: string; start: number; end: number }> = [];
    const onWord = (_w: string, _b: readonly number[], starts: readonly number[], ends: readonly number[]) => {
      const start = starts[0]!;
      const end = ends[ends.length - 1]!;
      out.push({ word: text.slice(start, end), start, end });
    };
    let from = 0;
    if (this.specialPattern) {
      for (const m of text.matchAll(this.specialPattern)) {
        this.basicWords(text, from, m.index, onWord);
        out.push({ word: m[0], start: m.index, end: m.index + m[0].length });
        from = m.index + m[0].length;
      }
    }
    this.basicWords(text, from, text.length, onWord);
    return out;
  }

  /** Joins sub-words back into text the way HF's WordPiece decoder does (for debugging and display). */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const specials = new Set(this.specialIds.values());
    const prefix = this.settings.continuingSubwordPrefix;
    let s = '';
    for (const id of ids) {
      if (skip && specials.has(id)) continue;
      const t = this.idToken(id);
      if (t.startsWith(prefix)) s += t.slice(prefix.length);
      else s += (s ? ' ' : '') + t;
    }
    return s;
  }

  /**
   * Normalises and pre-tokenises text[from, to) on the fly, keeping each character's source range,
   * and emits WordPiece sub-words.
   */
  private splitText(
    text: string,
    from: number,
    to: number,
    emit: (id: number, start: number, end: number) => void,
  ): void {
    this.basicWords(text, from, to, (word, bounds, starts, ends) => this.wordPiece(word, bounds, starts, ends, emit));
  }

  /** BERT's basic tokenizer over text[from, to): calls `onWord` with each normalised word and its sources. */
  private basicWords(
    text: string,
    from: number,
    to: number,
    onWord: (word: string, bounds: readonly number[], starts: readonly number[], ends: readonly number[]) => void,
  ): void {
    const { cleanText, handleChineseChars, lowercase } = this.settings;
    const strip = this.stripAccents;
    // the current word: its normalised string and, per code point, the boundary in it and the source range
    let word = '';
    const bounds: number[] = [0];
    const starts: number[] = [];
    const ends: number[] = [];
    const flush = () => {
      if (starts.length > 0) onWord(word, bounds, starts, ends);
      word = '';
      bounds.length = 1;
      starts.length = 0;
      ends.length = 0;
    };
    const add = (ch: string, s: number, e: number) => {
      word += ch;
      bounds.push(word.length);
      starts.push(s);
      ends.push(e);
    };
    for (let i = from; i < to; ) {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      const s = i;
      const e = i + len;
      i = e;
      if (cleanText && (cp === 0 || cp === 0xfffd || isControl(cp))) continue;
      if (isWhitespace(cp)) {
        flush();
        continue;
      }
      const cjk = handleChineseChars && isChineseChar(cp);
      if (cjk) flush();
      let ch = String.fromCodePoint(cp);
      if (cp >= 128) {
        if (strip) ch = stripMarks(ch);
        if (lowercase) ch = ch.toLowerCase();
      } else if (lowercase && cp >= 65 && cp <= 90) {
        ch = String.fromCharCode(cp + 32);
      }
      for (const c of ch) {
        const ccp = c.codePointAt(0)!;
        if (isPunctuation(ccp)) {
          flush();
          add(c, s, e);
          flush();
        } else if (isWhitespace(ccp)) {
          flush();
        } else {
          add(c, s, e);
        }
      }
      if (cjk) flush();
    }
    flush();
  }

  private wordPiece(
    word: string,
    bounds: readonly number[],
    starts: readonly number[],
    ends: readonly number[],
    emit: (id: number, start: number, end: number) => void,
  ): void {
    const n = starts.length;
    const wordStart = starts[0]!;
    const wordEnd = ends[n - 1]!;
    if (n > this.settings.maxInputCharsPerWord) {
      emit(this.unkId, wordStart, wordEnd);
      return;
    }
    const whole = this.ids.get(word);
    if (whole !== undefined) {
      emit(whole, wordStart, wordEnd);
      return;
    }
    const prefix = this.settings.continuingSubwordPrefix;
    const pieces: number[] = [];
    let start = 0;
    while (start < n) {
      let end = n;
      let found = -1;
      while (start < end) {
        const sub = word.slice(bounds[start], bounds[end]);
        const id = this.ids.get(start > 0 ? prefix + sub : sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) {
        emit(this.unkId, wordStart, wordEnd);
        return;
      }
      pieces.push(found, start, end);
      start = end;
    }
    for (let k = 0; k < pieces.length; k += 3) emit(pieces[k]!, starts[pieces[k + 1]!]!, ends[pieces[k + 2]! - 1]!);
  }

  // ---------------------------------------------------------------- saving

  /** vocab.txt contents */
  vocabText(): string {
    return this.vocab.join('\n') + '\n';
  }

  /** tokenizer_config.json contents (BertTokenizer / BertTokenizerFast read these). */
  tokenizerConfig(): Record<string, unknown> {
    const s = this.settings;
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
  specialTokensMap(): Record<string, string> {
    const s = this.settings.special;
    return { unk_token: s.unk, sep_token: s.sep, pad_token: s.pad, cls_token: s.cls, mask_token: s.mask };
  }

  /** A Hugging Face tokenizer.json describing exactly this tokenizer (loads in tokenizers and transformers.js). */
  toTokenizerJson(): Record<string, unknown> {
    const s = this.settings;
    const vocab: Record<string, number> = {};
    this.ids.forEach((id, token) => {
      vocab[token] = id;
    });
    const added = [...this.specialIds.entries()]
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
          [cls]: { id: cls, ids: [this.clsId], tokens: [cls] },
          [sep]: { id: sep, ids: [this.sepId], tokens: [sep] },
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
}

function stripMarks(ch: string): string {
  const d = ch.normalize('NFD');
  if (d === ch && !isNonspacingMark(ch)) return ch;
  let out = '';
  for (const c of d) if (!isNonspacingMark(c)) out += c;
  return out;
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

async function readJson(file: string): Promise<Record<string, any>> {
  const v = await readJsonValue(file);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InputError('invalid JSON: not a JSON object', file);
  return v as Record<string, any>;
}

export { readJson as readJsonFile };
