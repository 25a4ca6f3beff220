/**
 * Span conventions: where an entity the teacher names begins and ends in its sentence's TOKENS.
 *
 * An LLM copies names loosely: "the European Union", "Reuters.", `"Reuters",`, "Smith's", "England" out of
 * the token "ex-England". Grounding (ground.ts) first FINDS the text (see `findText`), then applies the
 * conventions below to every span found, whichever way it was found, so the same mention always gets the
 * same boundaries. The conventions follow CoNLL-2003's annotation; the numbers are counts over its train
 * split (14,041 sentences, 23,499 entities), measured once by a script over ../shared/data/conll2003.
 *
 * 1. Leading articles and determiners (the, a, an, this, that, these, those) are not part of a name,
 *    except a Title-case one inside a sentence ("at The Oval", "in The Hague") and an ALL-CAPS one that
 *    begins a headline ("THE TIMES"). An article token right before or at the start of an entity, in train:
 *      lower case ("the United States")                          1,816 outside the entity, 0 inside;
 *      Title case after a word or "(" ("The Oval" 14, "The Times") 3 outside, 33 inside;
 *      Title case first in the sentence or after a quote, dash or colon
 *                                                                336 outside, 7 inside ("The New York Times");
 *      ALL CAPS first in the sentence ("THE TIMES")              1 outside, 5 inside;
 *      ALL CAPS after a word ("THE U.S. OPEN")                   5 outside, 0 inside.
 *    The rule decides 2,195 of these 2,206 as the gold annotation does.
 * 2. Punctuation tokens at either end are not part of a name (quotes, brackets, full stops, commas:
 *    `" Reuters " ,` → Reuters), except a ")" closing a "(" inside the span ("Mladost ( L )": 8 entities in
 *    train). A full stop token ends 12 entities in train ("Salomon Bros .") and follows 1,157 (it is mostly
 *    the sentence's own full stop: "Lear Corp ." at the end of a sentence is ORG "Lear Corp").
 * 3. A trailing possessive clitic (`'s`, `'`) glued to the name is dropped ("Smith's" → Smith): 830 clitics
 *    follow an entity in train, 20 end one ("Lloyd 's", "Moody 's"); written as a word of its own
 *    ("moody 's") it is kept.
 * 4. Alignment inside a token, as spaCy's `Doc.char_span(alignment_mode=...)`: an answer that matches part
 *    of a token ("England" in "ex-England") — only at a break inside the token (a hyphen, slash, apostrophe,
 *    "#", "@": never in the middle of a word, so "York" is not found in "NewYork" nor "us" in "thus"):
 *      `strict`   — not a match;
 *      `contract` — the span shrinks to the tokens wholly inside the match (none: not a match);
 *      `expand`   — the span grows to the whole tokens it touches: "ex-England" is the entity.
 *    Default `expand`, CoNLL's convention: 43 of the 53 train tokens shaped "lower-Capital" are labelled
 *    whole ("neo-Nazi", "post-Soviet", "anti-Semitic"; the unlabelled ones are mostly "mid-August").
 *
 * A VERBATIM copy — the answer's words are exactly the tokens of the span, spaces between them — keeps
 * its punctuation and clitics (2-3 do not apply; 1 does): an answer that writes "( Tom ) Seaver", "Moody 's"
 * or "Gulf McLaren F !" token by token means them, as CoNLL's annotators did. Only a loose copy ("Reuters.",
 * `"Reuters",`, "Smith's") is trimmed.
 *
 * Occurrences (who gets which occurrence of a repeated text) are decided in ground.ts.
 */

export type AlignmentMode = 'strict' | 'contract' | 'expand';

export interface SpanConventions {
  /** answers that match part of a token (see 4. above); default 'expand' */
  alignment: AlignmentMode;
}

export const DEFAULT_CONVENTIONS: SpanConventions = { alignment: 'expand' };

/** how a text was found: the first of these that finds it at all */
export type MatchLevel = 'exact' | 'normalised' | 'punctuation' | 'article';

const FOLD: Array<[RegExp, string]> = [
  [/[\u2018\u2019\u201a\u201b\u2032\u0060\u00b4]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]/g, '"'],
  [/[\u2010-\u2015\u2212]/g, '-'],
  [/\u2026/g, '...'],
];

/** NFKC, curly quotes and dashes folded to ASCII */
export function fold(s: string): string {
  let t = s.normalize('NFKC');
  for (const [re, to] of FOLD) t = t.replace(re, to);
  return t;
}

const ALNUM = /[\p{L}\p{N}]/u;
const isAlnum = (c: string): boolean => ALNUM.test(c);

/** one character of the sentence's searchable stream, and where it came from */
interface StreamChar {
  c: string;
  token: number;
  /** no letter or digit before it in its token */
  alignedStart: boolean;
  /** no letter or digit after it in its token */
  alignedEnd: boolean;
  /** the character before it in its token is not a letter or digit (a break inside the token) */
  breakBefore: boolean;
  breakAfter: boolean;
}

type Form = 'cased' | 'caseless' | 'alnum';

/** streams already built, per sentence (an answer's entities all search the same sentence) */
const streams = new WeakMap<string[], Map<Form, StreamChar[]>>();

/** The tokens as one whitespace-free string of folded characters, each knowing its token and position. */
function stream(tokens: string[], form: Form): StreamChar[] {
  let byForm = streams.get(tokens);
  if (!byForm) streams.set(tokens, (byForm = new Map()));
  let built = byForm.get(form);
  if (!built) byForm.set(form, (built = buildStream(tokens, form)));
  return built;
}

function buildStream(tokens: string[], form: Form): StreamChar[] {
  const out: StreamChar[] = [];
  tokens.forEach((tok, token) => {
    const chars = Array.from(fold(tok)).filter((c) => !/\s/u.test(c));
    const alnum = chars.map(isAlnum);
    const firstAlnum = alnum.indexOf(true);
    const lastAlnum = alnum.lastIndexOf(true);
    chars.forEach((ch, i) => {
      if (form === 'alnum' && !alnum[i]) return;
      const c = form === 'cased' ? ch : ch.toLowerCase();
      out.push({
        c,
        token,
        alignedStart: firstAlnum < 0 || i <= firstAlnum,
        alignedEnd: lastAlnum < 0 || i >= lastAlnum,
        breakBefore: i === 0 || !alnum[i - 1],
        breakAfter: i === chars.length - 1 || !alnum[i + 1],
      });
    });
  });
  return out;
}

function target(text: string, form: Form): string {
  let t = Array.from(fold(text)).filter((c) => !/\s/u.test(c));
  if (form === 'alnum') t = t.filter(isAlnum);
  const s = t.join('');
  return form === 'cased' ? s : s.toLowerCase();
}

/** Every match of `text` in `tokens` under one form, as token spans after alignment; in sentence order. */
function matches(tokens: string[], text: string, form: Form, mode: AlignmentMode): Array<[number, number]> {
  const want = Array.from(target(text, form));
  if (want.length === 0 || !want.some(isAlnum)) return [];
  const chars = stream(tokens, form);
  const out: Array<[number, number]> = [];
  const aligned: number[] = [];
  const inside: number[] = [];
  outer: for (let p = 0; p + want.length <= chars.length; p++) {
    for (let k = 0; k < want.length; k++) if (chars[p + k]!.c !== want[k]) continue outer;
    const first = chars[p]!;
    const last = chars[p + want.length - 1]!;
    let start = first.token;
    let end = last.token + 1;
    const startInside = !first.alignedStart;
    const endInside = !last.alignedEnd;
    // never in the middle of a word
    if ((startInside && !first.breakBefore) || (endInside && !last.breakAfter)) continue;
    if (startInside || endInside) {
      if (mode === 'strict') continue;
      if (mode === 'contract') {
        if (startInside) start++;
        if (endInside) end--;
        if (end <= start) continue;
      }
    }
    if (out.some(([s, e]) => s === start && e === end)) continue;
    out.push([start, end]);
    (startInside || endInside ? inside : aligned).push(out.length - 1);
  }
  // inside a token only when the text is nowhere a whole-token match ("KSE" ORG is not also in "KSE-100")
  return aligned.length > 0 ? out.filter((_, i) => !inside.includes(i)) : out;
}

const DETERMINER = /^(the|a|an|this|that|these|those)$/iu;
/** tokens after which a Title-case word may just be capitalised because a sentence or quote begins */
const OPENERS = new Set(['"', "'", '`', '``', '-', '--', ':']);

/** Convention 1: is the article/determiner at `i` part of the name that follows it? */
function articleIsPartOfName(tokens: string[], i: number): boolean {
  const t = tokens[i]!;
  if (t === t.toLowerCase()) return false;
  if (t.length > 1 && t === t.toUpperCase()) return i === 0; // ALL CAPS: a headline's "THE TIMES"
  return !(i === 0 || OPENERS.has(fold(tokens[i - 1]!)));
}

const LEADING_ARTICLE = /^\s*(the|a|an|this|that|these|those)\s+/iu;

/** the answer without a leading article/determiner, or undefined when it has none */
export function withoutArticle(text: string): string | undefined {
  return LEADING_ARTICLE.test(text) ? text.replace(LEADING_ARTICLE, '') : undefined;
}

const isPunct = (tok: string): boolean => !ALNUM.test(tok);
const CLITIC = /^['\u2019]s?$/iu;

/** does the answer have `tok` (a clitic or ".") as a separate word at its end? */
function writtenAsWord(answer: string, tok: string): boolean {
  const words = fold(answer)
    .replace(/[.,;:!?")\]]+$/u, '')
    .trim()
    .split(/\s+/u);
  return words.length > 1 && words[words.length - 1] === fold(tok);
}

/**
 * Conventions 1-3 applied to the span [start, end) found for `answer`: the trimmed span, or undefined when
 * nothing of a name is left (an answer that was only punctuation or an article).
 */
export function applyConventions(
  tokens: string[],
  start: number,
  end: number,
  answer: string,
): [number, number] | undefined {
  let s = start;
  let e = end;
  const words = answer.trim().split(/\s+/u);
  const verbatim = words.length === e - s && words.every((w, i) => w === tokens[s + i]);
  for (let changed = true; changed && s < e; ) {
    changed = false;
    if (e - s > 1 && DETERMINER.test(tokens[s]!) && !articleIsPartOfName(tokens, s)) {
      s++;
      changed = true;
      continue;
    }
    if (verbatim) break;
    if (isPunct(tokens[s]!)) {
      s++;
      changed = true;
      continue;
    }
    const last = tokens[e - 1]!;
    if (e - s > 1 && CLITIC.test(fold(last)) && !writtenAsWord(answer, last)) {
      e--;
      changed = true;
      continue;
    }
    if (isPunct(last) && !keepsTrailingPunct(tokens, s, e, answer)) {
      e--;
      changed = true;
    }
  }
  // a "(" left open inside the span is closed by the ")" right after it ("Mladost ( L", found by letters)
  if (!verbatim && e > s && e < tokens.length && fold(tokens[e]!) === ')' && depth(tokens, s, e) > 0) e++;
  if (e - s === 1 && DETERMINER.test(tokens[s]!) && !articleIsPartOfName(tokens, s)) return undefined;
  return e > s && tokens.slice(s, e).some((t) => ALNUM.test(t)) ? [s, e] : undefined;
}

/** "(" minus ")" among tokens [s, e) */
function depth(tokens: string[], s: number, e: number): number {
  let d = 0;
  for (let i = s; i < e; i++) {
    const t = fold(tokens[i]!);
    if (t === '(') d++;
    else if (t === ')') d--;
  }
  return d;
}

function keepsTrailingPunct(tokens: string[], s: number, e: number, answer: string): boolean {
  const last = fold(tokens[e - 1]!);
  if (e - s < 2) return false;
  if (last === "'") return writtenAsWord(answer, last); // a plural possessive: convention 3
  if (last === ')') return depth(tokens, s, e) === 0 && tokens.slice(s, e - 1).some((t) => fold(t) === '(');
  return false;
}

/**
 * Every occurrence of `text` in `tokens`, in sentence order, with the conventions applied, found by the
 * first of these that finds anything: `exact` (folded, whitespace ignored, case kept), `normalised` (case
 * ignored too), `punctuation` (only letters and digits compared: "St Louis" finds `St. Louis`), `article`
 * (the answer without its leading article, when the sentence lacks it: "the EU" finds `EU`). An answer
 * that starts with an article also finds the name's occurrences without it ("the U.S." labels every U.S.). The levels
 * only decide WHICH tokens were meant; the boundaries come from the conventions, the same at every level.
 */
export function findText(
  tokens: string[],
  text: string,
  conventions: SpanConventions = DEFAULT_CONVENTIONS,
): { level: MatchLevel; spans: Array<[number, number]> } | undefined {
  const tryText = (t: string): { level: MatchLevel; spans: Array<[number, number]> } | undefined => {
    const levels: Array<[MatchLevel, Form]> = [
      ['exact', 'cased'],
      ['normalised', 'caseless'],
      ['punctuation', 'alnum'],
    ];
    for (const [level, form] of levels) {
      const spans: Array<[number, number]> = [];
      for (const [s, e] of matches(tokens, t, form, conventions.alignment)) {
        const trimmed = applyConventions(tokens, s, e, t);
        if (trimmed && !spans.some(([a, b]) => a === trimmed[0] && b === trimmed[1])) spans.push(trimmed);
      }
      if (spans.length > 0) return { level, spans };
    }
    return undefined;
  };
  const found = tryText(text);
  const name = bareName(text);
  const bare = name === text || name === '' ? undefined : tryText(name);
  if (!bare) return found;
  if (!found) return { level: withoutArticle(text) !== undefined ? 'article' : bare.level, spans: bare.spans };
  // "the U.S." and "Jerusalem." mean the names U.S. and Jerusalem wherever they occur, with or without the
  // article or punctuation around them; a match that kept its article ("The Oval") stands for the bare
  // match inside it
  const spans = [...found.spans];
  for (const [s, e] of bare.spans) if (!spans.some(([a, b]) => a <= s && e <= b)) spans.push([s, e]);
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { level: found.level, spans };
}

/** the answer without a leading article, edge punctuation and quotes, or a glued possessive clitic */
export function bareName(text: string): string {
  let t = fold(text)
    .trim()
    .replace(/^[^\p{L}\p{N}(]+/u, '')
    .replace(LEADING_ARTICLE, '');
  for (let before = ''; before !== t; ) {
    before = t;
    t = t.replace(/^[^\p{L}\p{N}(]+/u, '').replace(/[^\p{L}\p{N})]+$/u, '');
    t = t.replace(/(?<=[\p{L}\p{N}.])'s?$/u, '').trim();
  }
  return t;
}

/** a token with a name-like piece after a break: "ex-England", "neo-Nazi", "Israel-PLO", "#Obama", "@nytimes" */
const BROKEN_TOKEN = /^(?:[#@]\p{L}|.*[\p{L}\p{N}][-/]\p{Lu})/u;

/**
 * The alignment convention of human-labelled data (default per corpus): among its tokens with a name-like
 * piece after a break ("neo-Nazi", "ex-England", "Israel-PLO", "#Obama", "@nytimes"), the share that an
 * entity covers whole. Half or more → `expand` (CoNLL-2003 train: 253 of 347), less → `strict` (WNUT-17
 * train: 72 of 3,060 — user names and hashtags are mostly not entities there); fewer than 10 such tokens
 * → the default (`expand`).
 */
export function conventionsFromLabelled(
  sentences: Iterable<{ tokens: string[]; spans: Array<{ start: number; end: number }> }>,
): SpanConventions & { evidence: { covered: number; tokens: number } } {
  let covered = 0;
  let tokens = 0;
  for (const s of sentences) {
    s.tokens.forEach((t, i) => {
      if (!BROKEN_TOKEN.test(fold(t))) return;
      tokens++;
      if (s.spans.some((sp) => sp.start <= i && i < sp.end)) covered++;
    });
  }
  const alignment: AlignmentMode =
    tokens < 10 ? DEFAULT_CONVENTIONS.alignment : covered * 2 >= tokens ? 'expand' : 'strict';
  return { alignment, evidence: { covered, tokens } };
}
