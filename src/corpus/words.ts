/**
 * Raw text split into words: the one rule of the project, used wherever text without given tokens becomes
 * words — the character-offset JSONL readers (training and teacher data), `nerd predict --text`, the
 * server's `{"text": ...}` requests. A model is then served on the same words it was trained on.
 *
 * A word is a run of letters, digits and combining marks (Unicode L, N, M), or any other single character
 * that is not white space (Unicode White_Space; U+FEFF and U+200B are not white space, so they are words of
 * their own). So "€100" is `€ 100`, "state-of-the-art" is `state - of - the - art`, "https://x.org/a" is
 * `https : / / x . org / a`, and an emoji is one word per code point. This is at least as fine as BERT's basic
 * tokenizer (white space, then every punctuation character on its own), so a word never straddles two of
 * its words and spans on these boundaries stay on word-piece boundaries.
 */

/** [start, end) character offsets (UTF-16 code units) of the words of `text` */
export function tokenize(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = /[\p{L}\p{N}\p{M}]+|[^\p{White_Space}]/gu;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push([m.index, m.index + m[0].length]);
  return out;
}

/** the words of `text` with their [start, end) character offsets */
export function splitWords(text: string): Array<{ word: string; start: number; end: number }> {
  return tokenize(text).map(([start, end]) => ({ word: text.slice(start, end), start, end }));
}
