/**
 * seqeval's strict mode (`mode='strict'`, `scheme=IOB2|IOBES|IOB1`): entities are read with the scheme's own
 * start / inside / end patterns, so an entity that does not begin with a proper start tag (`I-X` after `O` in
 * IOB2) or does not end properly (`B-X` without `E-X`/`S-X` in BIOES) is not an entity at all. This is a
 * different metric from conlleval's (seqeval's default mode is the conlleval-compatible one); offer it for users
 * who report seqeval strict numbers.
 *
 * Followed from seqeval's scheme.py: the prefix is the tag's FIRST character, the type the rest with `-` stripped
 * from both ends (`_` when empty); a prefix outside the scheme is an error.
 */
import { InputError } from '../errors.js';
import { orderedCounts, type Counts, type TypeCounts } from './conlleval.js';

export type StrictScheme = 'iob2' | 'bioes' | 'iob1';

type Cond = 'any' | 'same' | 'diff';
/** [previous token's prefixes, current token's prefixes, type condition] */
type Pattern = readonly [string, string, Cond];

interface SchemeRules {
  allowed: string;
  start: readonly Pattern[];
  inside: readonly Pattern[];
  end: readonly Pattern[];
}

const ANY = 'IOBES';

const RULES: Record<StrictScheme, SchemeRules> = {
  iob2: {
    allowed: 'IOB',
    start: [[ANY, 'B', 'any']],
    inside: [
      ['B', 'I', 'same'],
      ['I', 'I', 'same'],
    ],
    end: [
      ['I', 'O', 'any'],
      ['I', 'I', 'diff'],
      ['I', 'B', 'any'],
      ['B', 'O', 'any'],
      ['B', 'I', 'diff'],
      ['B', 'B', 'any'],
    ],
  },
  bioes: {
    allowed: 'IOBES',
    start: [
      [ANY, 'B', 'any'],
      [ANY, 'S', 'any'],
    ],
    inside: [
      ['B', 'I', 'same'],
      ['B', 'E', 'same'],
      ['I', 'I', 'same'],
      ['I', 'E', 'same'],
    ],
    end: [
      ['S', ANY, 'any'],
      ['E', ANY, 'any'],
    ],
  },
  iob1: {
    allowed: 'IOB',
    start: [
      ['O', 'I', 'any'],
      ['I', 'I', 'diff'],
      ['B', 'I', 'any'],
      ['I', 'B', 'same'],
      ['B', 'B', 'same'],
    ],
    inside: [
      ['B', 'I', 'same'],
      ['I', 'I', 'same'],
    ],
    end: [
      ['I', 'I', 'diff'],
      ['I', 'O', 'any'],
      ['I', 'B', 'any'],
      ['B', 'O', 'any'],
      ['B', 'I', 'diff'],
      ['B', 'B', 'same'],
    ],
  },
};

interface Tok {
  prefix: string;
  type: string;
}

/** Where a tag is, for error messages: a file and line, and/or words such as "pred sentence 3, token 2". */
export interface TagLocation {
  file?: string;
  line?: number;
  detail?: string;
}

function parseTag(tag: string, rules: SchemeRules, scheme: StrictScheme, where: () => TagLocation): Tok {
  const prefix = tag.charAt(0);
  if (prefix === '' || !rules.allowed.includes(prefix)) {
    const at = where();
    throw new InputError(
      `tag ${JSON.stringify(tag)} is not valid in the ${scheme} scheme (strict mode allows prefixes ${[...rules.allowed].join(', ')})` +
        (at.detail ? ` (${at.detail})` : ''),
      at.file,
      at.line,
    );
  }
  const type = tag.slice(1).replace(/^-+|-+$/g, '') || '_';
  return { prefix, type };
}

function matches(prev: Tok, cur: Tok, patterns: readonly Pattern[]): boolean {
  for (const [p, c, cond] of patterns) {
    if (!p.includes(prev.prefix) || !c.includes(cur.prefix)) continue;
    if (cond === 'any' || (cond === 'same') === (prev.type === cur.type)) return true;
  }
  return false;
}

/** A strict entity: token offsets [start, end) and type. */
export interface StrictEntity {
  start: number;
  end: number;
  type: string;
}

/** seqeval's `Tokens(...).entities` for one sentence. */
export function strictEntities(
  tags: readonly string[],
  scheme: StrictScheme,
  where: (index: number) => TagLocation = () => ({}),
): StrictEntity[] {
  const rules = RULES[scheme];
  const outside: Tok = { prefix: 'O', type: '_' };
  const toks = tags.map((t, i) => parseTag(t, rules, scheme, () => where(i)));
  toks.push(outside); // sentinel
  const entities: StrictEntity[] = [];
  let prev = outside;
  let i = 0;
  while (i < toks.length) {
    const tok = toks[i]!;
    if (matches(prev, tok, rules.start)) {
      // forward over inside tokens
      let end = toks.length - 2; // seqeval's fall-through value (unreachable: the sentinel O is never inside)
      let last = tok;
      for (let j = i + 1; j < toks.length; j++) {
        if (matches(last, toks[j]!, rules.inside)) last = toks[j]!;
        else {
          end = j;
          break;
        }
      }
      if (matches(toks[end - 1]!, toks[end]!, rules.end)) entities.push({ start: i, end, type: tok.type });
      i = end;
    } else {
      i++;
    }
    prev = toks[i - 1]!;
  }
  return entities;
}

/** Counts in strict mode: entity counts per type, token accuracy by exact tag equality. */
export function strictCounts(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  scheme: StrictScheme,
  where: (side: 'gold' | 'pred', sentence: number, token: number) => TagLocation = (side, s, t) => ({
    detail: `${side} sentence ${s + 1}, token ${t + 1}`,
  }),
): Counts {
  const types = new Map<string, TypeCounts>();
  const entry = (type: string): TypeCounts => {
    let e = types.get(type);
    if (!e) types.set(type, (e = { gold: 0, found: 0, correct: 0 }));
    return e;
  };
  let tokens = 0;
  let correctTags = 0;
  let goldTotal = 0;
  let found = 0;
  let correct = 0;
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s]!;
    const p = pred[s]!;
    tokens += g.length;
    for (let t = 0; t < g.length; t++) if (g[t] === p[t]) correctTags++;
    const ge = strictEntities(g, scheme, (t) => where('gold', s, t));
    const pe = strictEntities(p, scheme, (t) => where('pred', s, t));
    const goldKeys = new Set<string>();
    for (const e of ge) {
      goldKeys.add(`${e.start}:${e.end}:${e.type}`);
      entry(e.type).gold++;
      goldTotal++;
    }
    for (const e of pe) {
      entry(e.type).found++;
      found++;
      if (goldKeys.has(`${e.start}:${e.end}:${e.type}`)) {
        entry(e.type).correct++;
        correct++;
      }
    }
  }
  const counts = orderedCounts(tokens, correctTags, goldTotal, found, correct, types);
  counts.reportOrder = [...counts.types.keys()];
  return counts;
}
