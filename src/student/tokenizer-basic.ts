/**
 * BERT's basic tokenizer (normalisation and pre-tokenization) in one pass over the text: drops NUL, U+FFFD
 * and control/format characters (clean_text), splits on whitespace, puts CJK ideographs and every
 * punctuation character on their own, strips accents (NFD, non-spacing marks dropped) and lower-cases per
 * character. Each normalised word comes with, per code point, its boundary in the word and its [start, end)
 * range in the ORIGINAL text, which is how the tokenizer's offsets stay exact. tokenizer.ts runs WordPiece
 * (tokenizer-wordpiece.ts) on each word.
 */
import { isChineseChar, isControl, isNonspacingMark, isPunctuation, isWhitespace } from './tokenizer-chars.js';
import type { TokenizerSettings } from './tokenizer-settings.js';

/** one normalised word: the string, per code point its boundary in the word, and its source range */
export type OnWord = (
  word: string,
  bounds: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
) => void;

/** BERT's basic tokenizer over text[from, to): calls `onWord` with each normalised word and its sources. */
export function basicWords(
  text: string,
  from: number,
  to: number,
  settings: Pick<TokenizerSettings, 'cleanText' | 'handleChineseChars' | 'lowercase'>,
  strip: boolean,
  onWord: OnWord,
): void {
  const { cleanText, handleChineseChars, lowercase } = settings;
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

function stripMarks(ch: string): string {
  const d = ch.normalize('NFD');
  if (d === ch && !isNonspacingMark(ch)) return ch;
  let out = '';
  for (const c of d) if (!isNonspacingMark(c)) out += c;
  return out;
}
