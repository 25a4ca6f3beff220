/**
 * Character classes of BERT's basic tokenizer, as Hugging Face defines them (`tokenizers` crate,
 * normalizers/bert.rs and pre_tokenizers/bert.rs; Python `BasicTokenizer` agrees on all of these).
 * All functions take a Unicode code point.
 */

const CONTROL_OR_OTHER = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}]$/u; // "C" categories except unassigned (Cn)
const UNICODE_PUNCT = /^\p{P}$/u;
const NONSPACING_MARK = /^\p{Mn}$/u;

/** Bytes 0..127: bit 1 = control, 2 = whitespace, 4 = punctuation. */
const ASCII = new Uint8Array(128);
for (let cp = 0; cp < 128; cp++) {
  let bits = 0;
  if (cp < 32 || cp === 127) bits |= 1;
  if (cp === 9 || cp === 10 || cp === 13) bits = 2; // HF counts \t \n \r as whitespace, not control
  if (cp === 32) bits |= 2;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    bits |= 4;
  }
  ASCII[cp] = bits;
}

/**
 * Characters removed by `clean_text`: control and other "C" categories except \t \n \r.
 * Note: like transformers.js (our parity reference), unassigned code points (Cn) are kept; the Rust crate's
 * older Unicode tables would drop code points assigned after its table version (e.g. recent emoji).
 */
export function isControl(cp: number): boolean {
  if (cp < 128) return (ASCII[cp]! & 1) !== 0;
  return (classify(cp) & 1) !== 0;
}

/** non-ASCII code point → bits (1 control, 4 punctuation, 8 known), memoised: regex tests are slow */
const NON_ASCII = new Map<number, number>();
function classify(cp: number): number {
  let bits = NON_ASCII.get(cp);
  if (bits === undefined) {
    const ch = String.fromCodePoint(cp);
    bits = 8 | (CONTROL_OR_OTHER.test(ch) ? 1 : 0) | (UNICODE_PUNCT.test(ch) ? 4 : 0);
    if (NON_ASCII.size < 1 << 16) NON_ASCII.set(cp, bits);
  }
  return bits;
}

/** Rust `char::is_whitespace` plus \t \n \r (the same set Python's BasicTokenizer splits on). */
export function isWhitespace(cp: number): boolean {
  if (cp < 128) return (ASCII[cp]! & 2) !== 0 || cp === 11 || cp === 12;
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** ASCII punctuation (which includes symbols like $ + < = > ^ ` | ~) or any Unicode P* category. */
export function isPunctuation(cp: number): boolean {
  if (cp < 128) return (ASCII[cp]! & 4) !== 0;
  return (classify(cp) & 4) !== 0;
}

/**
 * CJK Unified Ideographs blocks that BERT surrounds with spaces, as the Rust `tokenizers` crate (the "fast"
 * tokenizer that tokenizer.json describes) defines them. Its Extension E range starts at U+2B920 where
 * Python's slow `_is_chinese_char` says U+2B820; we follow the fast tokenizer, Hugging Face's default.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export function isNonspacingMark(ch: string): boolean {
  return ch.charCodeAt(0) >= 0x300 && NONSPACING_MARK.test(ch);
}
