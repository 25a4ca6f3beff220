/**
 * Tag schemes (IOB1, IOB2/BIO, BIOES/IOBES) and decoding tags into entity spans.
 *
 * Decoding follows the CoNLL `conlleval` script (version 2004-01-26) exactly: a tag is split at its FIRST
 * hyphen into a prefix and a type (`B-creative-work` is prefix `B`, type `creative-work`; a tag without a
 * hyphen is all prefix with type ""), and chunk boundaries come from conlleval's `startOfChunk` /
 * `endOfChunk` rules, re-implemented below (not copied). Consequences users meet:
 *  - an `I-X` after `O`, at a sentence start, or after another type starts a new entity;
 *  - in IOB1, `B-X` separates two touching entities of the same type;
 *  - conlleval knows `E-` only as IOE's "end" tag and has no rule for `S-`: on BIOES tags it MERGES touching
 *    same-type entities (`S-X S-X` is one chunk, and so is `B-X E-X B-X E-X`). `spansFromTags(tags)` keeps
 *    that behaviour (the scorer must match conlleval); pass the scheme, `spansFromTags(tags, 'bioes')`, to
 *    decode BIOES as BIOES (an entity also ends after `E-`/`S-` and starts at `B-`/`S-`). On tags without
 *    `E-`/`S-` both give the same spans.
 */
import type { Span, TagScheme } from './types.js';

export const TAG_SCHEMES: readonly TagScheme[] = ['iob1', 'iob2', 'bioes'];

/** Parses a user-supplied scheme name; accepts common aliases (bio → iob2, iobes → bioes). */
export function parseScheme(name: string): TagScheme | undefined {
  const key = name.trim().toLowerCase();
  const aliases: Record<string, TagScheme> = {
    iob1: 'iob1',
    iob: 'iob1',
    iob2: 'iob2',
    bio: 'iob2',
    bioes: 'bioes',
    iobes: 'bioes',
  };
  return aliases[key];
}

/** conlleval's split of a tag into prefix and type (first hyphen; a type of "0" is "" as in Perl). */
export function splitTag(tag: string): [prefix: string, type: string] {
  let parts = splitCache.get(tag);
  if (parts === undefined) {
    const i = tag.indexOf('-');
    const type = i < 0 ? '' : tag.slice(i + 1);
    parts = i < 0 ? [tag, ''] : [tag.slice(0, i), type === '0' ? '' : type];
    if (splitCache.size > 4096) splitCache.clear();
    splitCache.set(tag, parts);
  }
  return [parts[0], parts[1]];
}

// Tag sets are small and every token is split several times: reuse the splits (and the strings joined in
// tagsFromSpans) instead of allocating them per token.
const splitCache = new Map<string, readonly [string, string]>();
const joinCache = new Map<string, string>();

function joinTag(prefix: 'B-' | 'I-' | 'E-' | 'S-', label: string): string {
  const key = prefix + label;
  let tag = joinCache.get(key);
  if (tag === undefined) {
    if (joinCache.size > 4096) joinCache.clear();
    tag = key;
    joinCache.set(key, tag);
  }
  return tag;
}

/** conlleval's endOfChunk: did a chunk end between the previous and the current token? */
export function conllevalEndOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === ']' || prevTag === '[') return true;
  if (prevTag !== 'O' && prevTag !== '.' && prevType !== type) return true;
  switch (prevTag) {
    case 'B':
    case 'I':
      return tag === 'B' || tag === 'O';
    case 'E':
      return tag === 'E' || tag === 'I' || tag === 'O';
    default:
      return false;
  }
}

/** conlleval's startOfChunk: did a chunk start between the previous and the current token? */
export function conllevalStartOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === '[' || tag === ']') return true;
  if (tag !== 'O' && tag !== '.' && prevType !== type) return true;
  switch (prevTag) {
    case 'B':
    case 'I':
      return tag === 'B';
    case 'O':
      return tag === 'B' || tag === 'I' || tag === 'E';
    case 'E':
      return tag === 'E' || tag === 'I';
    default:
      return false;
  }
}

/**
 * Decodes a sentence's tags into entity spans (token offsets, end exclusive), sorted by start.
 *
 * Without `scheme` (or with 'iob1'/'iob2') this is conlleval exactly: a span starts wherever conlleval's
 * startOfChunk holds and runs up to the next token where endOfChunk or startOfChunk holds, or to the end
 * of the sentence (conlleval's blank line ends every chunk). With 'bioes', `E-`/`S-` close a span and
 * `B-`/`S-` open one, as BIOES means; invalid sequences are read the conlleval way (an `I-X` after `O`
 * starts an entity, an `E-X` with no open `X` is a one-token entity).
 *
 * Caveat for the scorer: with degenerate tags that conlleval tolerates but no scheme produces (`.`, a
 * bare label without a prefix such as `PER`, `O-X`), conlleval can count a chunk start without ever
 * seeing its end; its "correct" count then depends on its state machine, not only on span equality. The
 * corpus readers reject such tags; `conllevalStartOfChunk`/`conllevalEndOfChunk` are exported for a
 * token-by-token replica.
 */
export function spansFromTags(tags: readonly string[], scheme?: TagScheme): Span[] {
  const bioes = scheme === 'bioes';
  const spans: Span[] = [];
  let prevTag = 'O';
  let prevType = '';
  let openStart = -1;
  let openType = '';
  for (let i = 0; i < tags.length; i++) {
    const parts = splitCache.get(tags[i]!) ?? splitTag(tags[i]!);
    const tag = parts[0];
    const type = parts[1];
    let start = conllevalStartOfChunk(prevTag, tag, prevType, type);
    let end = conllevalEndOfChunk(prevTag, tag, prevType, type);
    if (bioes && tag !== 'O') {
      if (tag === 'B' || tag === 'S' || prevTag === 'E' || prevTag === 'S') {
        start = true;
        end = true;
      }
    } else if (bioes && (prevTag === 'E' || prevTag === 'S')) {
      end = true;
    }
    if (openStart >= 0 && (end || start)) {
      spans.push({ start: openStart, end: i, label: openType });
      openStart = -1;
    }
    if (start) {
      openStart = i;
      openType = type;
    }
    prevTag = tag;
    prevType = type;
  }
  if (openStart >= 0) spans.push({ start: openStart, end: tags.length, label: openType });
  return spans;
}

/**
 * Encodes spans as tags in a scheme. Spans must lie in [0, length), be non-empty and must not overlap;
 * they need not be sorted. IOB1 uses `B-` only on the first token of an entity that directly follows an
 * entity of the same type, as in the original CoNLL-2003 files.
 */
export function tagsFromSpans(length: number, spans: readonly Span[], scheme: TagScheme): string[] {
  const tags = new Array<string>(length).fill('O');
  const sorted = isSorted(spans) ? spans : [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  let prevEnd = -1;
  let prevLabel = '';
  for (const s of sorted) {
    if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end > s.start && s.end <= length)) {
      throw new RangeError(`span [${s.start}, ${s.end}) ${s.label} is outside a sentence of ${length} tokens`);
    }
    if (s.start < prevEnd) throw new RangeError(`span [${s.start}, ${s.end}) ${s.label} overlaps the span before it`);
    const single = s.end - s.start === 1;
    let first: 'B-' | 'I-' | 'S-';
    if (scheme === 'iob2') first = 'B-';
    else if (scheme === 'bioes') first = single ? 'S-' : 'B-';
    else first = s.start === prevEnd && s.label === prevLabel ? 'B-' : 'I-';
    tags[s.start] = joinTag(first, s.label);
    const inside = joinTag('I-', s.label);
    for (let i = s.start + 1; i < s.end; i++) tags[i] = inside;
    if (scheme === 'bioes' && !single) tags[s.end - 1] = joinTag('E-', s.label);
    prevEnd = s.end;
    prevLabel = s.label;
  }
  return tags;
}

function isSorted(spans: readonly Span[]): boolean {
  for (let i = 1; i < spans.length; i++) if (spans[i - 1]!.start > spans[i]!.start) return false;
  return true;
}

/**
 * A tag as the corpus readers accept it: `O` or `B-`/`I-` (and, in BIOES, `E-`/`S-`, or BILOU's `L-`/`U-`,
 * read as `E-`/`S-`) followed by a non-empty type.
 */
export function tagProblem(tag: string, scheme: TagScheme | 'auto'): string | undefined {
  if (tag === 'O') return undefined;
  const prefix = tag.charAt(0);
  if (tag.charAt(1) !== '-' || !'BIESLU'.includes(prefix) || prefix === '') {
    return `bad tag "${tag}": expected O or B-/I-/E-/S- followed by a type`;
  }
  if (tag.length === 2) return `bad tag "${tag}": the entity type is empty`;
  if ('ESLU'.includes(prefix) && (scheme === 'iob1' || scheme === 'iob2')) {
    const kind = prefix === 'L' || prefix === 'U' ? 'BILOU' : 'BIOES';
    return `bad tag "${tag}": ${prefix}- is a ${kind} tag but the scheme is ${scheme.toUpperCase()} (use --input-scheme bioes or auto)`;
  }
  return undefined;
}

/** BILOU (BILUO) tags in BIOES letters: `L-X` is `E-X`, `U-X` is `S-X`; other tags unchanged. */
export function bilouToBioes(tag: string): string {
  const p = tag.charAt(0);
  return tag.charAt(1) === '-' && (p === 'L' || p === 'U') ? (p === 'L' ? 'E' : 'S') + tag.slice(1) : tag;
}

/**
 * Guesses the scheme of tagged sentences: BIOES when any `E-`/`S-` occurs; otherwise IOB1 when more
 * entities begin with `I-` than with `B-` (not counting `B-` between touching same-type entities, which
 * both IOB1 and IOB2 use), else IOB2 (also the answer when there are no entities at all).
 */
export function detectScheme(sentences: Iterable<readonly string[]>): TagScheme {
  let iStarts = 0;
  let bStarts = 0;
  for (const tags of sentences) {
    let prevTag = 'O';
    let prevType = '';
    for (const t of tags) {
      const parts = splitCache.get(t) ?? splitTag(t);
      const tag = parts[0];
      const type = parts[1];
      if (tag === 'E' || tag === 'S') return 'bioes';
      if (tag === 'B' && !(prevTag !== 'O' && prevType === type)) bStarts++;
      else if (tag === 'I' && (prevTag === 'O' || prevType !== type)) iStarts++;
      prevTag = tag;
      prevType = type;
    }
  }
  return iStarts > bStarts ? 'iob1' : 'iob2';
}

/** One tag that is not how `scheme` writes the entities conlleval reads from the sentence. */
export interface TagFix {
  /** token index in the sentence */
  index: number;
  from: string;
  to: string;
}

/**
 * Decodes tags in a scheme and lists the tags that are not that scheme's canonical form of the decoded
 * spans (an `I-X` after `O` in IOB2, a `B-X` alone in BIOES, ...). Lenient readers keep the spans and
 * count the fixes as repairs; strict readers refuse the first. Decoding never depends on the fixes: the
 * spans are what conlleval (or BIOES, for 'bioes') reads from the tags as written.
 */
export function decodeTags(tags: readonly string[], scheme: TagScheme): { spans: Span[]; fixes: TagFix[] } {
  const spans = spansFromTags(tags, scheme);
  const canonical = tagsFromSpans(tags.length, spans, scheme);
  const fixes: TagFix[] = [];
  for (let i = 0; i < tags.length; i++) {
    if (tags[i] !== canonical[i]) fixes.push({ index: i, from: tags[i]!, to: canonical[i]! });
  }
  return { spans, fixes };
}

/** Rewrites tags from one scheme into another (spans decoded in `from`, encoded in `to`). */
export function convertTags(tags: readonly string[], from: TagScheme, to: TagScheme): string[] {
  return tagsFromSpans(tags.length, spansFromTags(tags, from), to);
}

/** Human-readable fix description, e.g. `I-PER follows O; IOB2 writes B-PER`. */
export function describeFix(tags: readonly string[], fix: TagFix, scheme: TagScheme): string {
  const before = fix.index === 0 ? 'the sentence start' : tags[fix.index - 1]!;
  return `tag ${fix.from} after ${before} is not valid ${scheme.toUpperCase()}; read as ${fix.to}`;
}
