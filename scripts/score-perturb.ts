/**
 * Deterministic (seeded) perturbations of gold NER tags, and the conlleval input files built from them. Used by
 * scripts/score-fixtures.ts (which runs the real conlleval.pl on the files to record its counts) and by
 * test/score/conlleval-exact.test.ts (which rebuilds the same files and checks `nerd eval --conlleval` against the
 * recorded counts). Changing anything here changes the files: re-run the fixture script (the tests compare a
 * SHA-256 of every file and say so).
 */
import { createHash } from 'node:crypto';

// ---------------------------------------------------------------- seeded randomness

/** mulberry32: a small, well-known 32-bit PRNG; same seed, same sequence on every platform. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string, for seeding from case names. */
export function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---------------------------------------------------------------- spans and renderings

interface Sp {
  start: number;
  end: number;
  type: string;
}

/** Simple IOB1/IOB2 decoding (B-, or I- after O or another type, starts an entity). Good enough to perturb. */
function decode(tags: readonly string[]): Sp[] {
  const spans: Sp[] = [];
  let cur: Sp | undefined;
  tags.forEach((tag, i) => {
    const dash = tag.indexOf('-');
    const prefix = dash < 0 ? tag : tag.slice(0, dash);
    const type = dash < 0 ? '' : tag.slice(dash + 1);
    if (prefix === 'O' || dash < 0) {
      cur = undefined;
      return;
    }
    if (prefix === 'B' || !cur || cur.type !== type) {
      cur = { start: i, end: i + 1, type };
      spans.push(cur);
    } else cur.end = i + 1;
  });
  return spans;
}

type Encoding = 'iob2' | 'iob1' | 'bioes' | 'io';

/** Renders spans (later spans overwrite earlier ones where they overlap). */
function render(n: number, spans: readonly Sp[], enc: Encoding): string[] {
  const owner = new Array<number>(n).fill(-1);
  spans.forEach((s, k) => {
    for (let t = Math.max(0, s.start); t < Math.min(n, s.end); t++) owner[t] = k;
  });
  const tags = new Array<string>(n).fill('O');
  for (let t = 0; t < n; t++) {
    const k = owner[t]!;
    if (k < 0) continue;
    const type = spans[k]!.type;
    const first = t === 0 || owner[t - 1] !== k;
    const last = t === n - 1 || owner[t + 1] !== k;
    let prefix: string;
    switch (enc) {
      case 'iob2':
        prefix = first ? 'B' : 'I';
        break;
      case 'io':
        prefix = 'I';
        break;
      case 'iob1': {
        const prevSameType = t > 0 && owner[t - 1]! >= 0 && spans[owner[t - 1]!]!.type === type;
        prefix = first && prevSameType ? 'B' : 'I';
        break;
      }
      case 'bioes':
        prefix = first && last ? 'S' : first ? 'B' : last ? 'E' : 'I';
        break;
    }
    tags[t] = `${prefix}-${type}`;
  }
  return tags;
}

// ---------------------------------------------------------------- perturbations

export const TYPES = ['PER', 'ORG', 'LOC', 'MISC'] as const;

/** Tags conlleval treats in unusual ways: no type, unknown prefixes, hyphenated types, "0", brackets, dots. */
const WEIRD_TAGS = [
  'B',
  'I',
  'O',
  'E',
  'S',
  'Z',
  '.',
  '[',
  ']',
  'B-',
  'I-',
  'I-0',
  'B-0',
  'E-PER',
  'S-LOC',
  'S-PER',
  'E-ORG',
  '[-PER',
  ']-ORG',
  '.-LOC',
  'O-PER',
  'X-MISC',
  'B-PER-X',
  'I-PER-X',
  'BI-PER',
  'B-per',
  'I-Ü',
  'B-Ü',
  '-',
  '--',
];

export type Kind =
  | 'identity'
  | 'all-o'
  | 'wrong-type'
  | 'shift'
  | 'drop'
  | 'invent'
  | 'b-to-i'
  | 'type-flip'
  | 'i-after-o'
  | 'render-iob1'
  | 'render-iob2'
  | 'render-bioes'
  | 'render-io'
  | 'mixed'
  | 'random-tags'
  | 'chaos-both';

/** Perturbs one sentence's gold tags into predicted tags. */
export function perturb(gold: readonly string[], kind: Kind, rate: number, r: Rand): string[] {
  const n = gold.length;
  const spans = decode(gold);
  const otherType = (t: string): string =>
    pick(
      r,
      TYPES.filter((x) => x !== t),
    );
  switch (kind) {
    case 'identity':
      return [...gold];
    case 'all-o':
      return new Array<string>(n).fill('O');
    case 'render-iob1':
      return render(n, spans, 'iob1');
    case 'render-iob2':
      return render(n, spans, 'iob2');
    case 'render-bioes':
      return render(n, spans, 'bioes');
    case 'render-io':
      return render(n, spans, 'io');
    case 'wrong-type':
      return render(
        n,
        spans.map((s) => (r() < rate ? { ...s, type: otherType(s.type) } : s)),
        'iob2',
      );
    case 'drop':
      return render(
        n,
        spans.filter(() => r() >= rate),
        'iob2',
      );
    case 'shift':
      return render(
        n,
        spans.map((s) => (r() < rate ? shifted(s, n, r) : s)),
        'iob2',
      );
    case 'invent':
      return render(n, [...spans, ...invented(gold, rate, r)], 'iob2');
    case 'b-to-i':
      return render(n, spans, 'iob2').map((t) => (t.startsWith('B-') && r() < rate ? `I-${t.slice(2)}` : t));
    case 'type-flip': {
      const tags = render(n, spans, 'iob2');
      for (const s of spans) {
        if (s.end - s.start > 1 && r() < rate) {
          const t = s.start + 1 + Math.floor(r() * (s.end - s.start - 1));
          tags[t] = `I-${otherType(s.type)}`;
        }
      }
      return tags;
    }
    case 'i-after-o': {
      const tags = render(n, spans, 'iob2');
      for (let t = 0; t < n; t++) {
        if (tags[t] === 'O' && r() < rate * 0.2) tags[t] = `I-${pick(r, TYPES)}`;
        else if (tags[t]!.startsWith('B-') && r() < rate) tags[t] = `I-${tags[t]!.slice(2)}`;
      }
      return tags;
    }
    case 'mixed': {
      let sp = spans.filter(() => r() >= rate / 2);
      sp = sp.map((s) => (r() < rate ? { ...s, type: otherType(s.type) } : s));
      sp = sp.map((s) => (r() < rate ? shifted(s, n, r) : s));
      sp.push(...invented(gold, rate / 10, r));
      const enc: Encoding = r() < 0.8 ? 'iob2' : pick(r, ['iob1', 'bioes', 'io'] as const);
      return render(n, sp, enc).map((t) => (t.startsWith('B-') && r() < rate / 2 ? `I-${t.slice(2)}` : t));
    }
    case 'random-tags':
    case 'chaos-both':
      return gold.map((t) =>
        r() < rate ? (r() < 0.5 ? pick(r, WEIRD_TAGS) : `${pick(r, ['B', 'I', 'E', 'S'])}-${pick(r, TYPES)}`) : t,
      );
  }
}

function shifted(s: Sp, n: number, r: Rand): Sp {
  const out = { ...s };
  const d = r() < 0.5 ? -1 : 1;
  if (r() < 0.5) out.start = Math.min(Math.max(0, s.start + d), s.end - 1);
  else out.end = Math.max(Math.min(n, s.end + d), s.start + 1);
  return out;
}

function invented(gold: readonly string[], rate: number, r: Rand): Sp[] {
  const out: Sp[] = [];
  for (let t = 0; t < gold.length; t++) {
    if (gold[t] === 'O' && r() < rate) {
      const len = 1 + Math.floor(r() * 3);
      out.push({ start: t, end: Math.min(gold.length, t + len), type: pick(r, TYPES) });
    }
  }
  return out;
}

// ---------------------------------------------------------------- conlleval input files

export interface CaseSpec {
  name: string;
  /** corpus file relative to shared/data */
  source: string;
  kind: Kind;
  rate: number;
  /** only the first N sentences (default all) */
  sentences?: number;
  /** how the file is written */
  layout?: 'columns' | 'two-column' | 'tab' | 'x-boundary' | 'raw' | 'raw-outside';
  /** `nerd eval` flags (and conlleval.pl flags) this file needs */
  args?: string[];
}

function stripPrefix(tag: string, outside: string): string {
  if (tag === 'O') return outside;
  const dash = tag.indexOf('-');
  return dash < 0 ? tag : tag.slice(dash + 1);
}

/** Builds the conlleval input text for a case from the gold corpus text. */
export function buildConllevalInput(spec: CaseSpec, sourceText: string): string {
  const r = rng(hashSeed(spec.name));
  const layout = spec.layout ?? 'columns';
  const lines = sourceText.replace(/\r/g, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  let sentence: string[][] = [];
  let sentences = 0;
  const limit = spec.sentences ?? Infinity;
  let fieldCount = 0;
  const emit = (fields: readonly string[], gold: string, pred: string): void => {
    switch (layout) {
      case 'two-column':
        out.push(`${gold} ${pred}`);
        break;
      case 'tab':
        out.push([...fields, pred].join('\t'));
        break;
      case 'raw':
        out.push([...fields.slice(0, -1), stripPrefix(gold, 'O'), stripPrefix(pred, 'O')].join(' '));
        break;
      case 'raw-outside':
        out.push([...fields.slice(0, -1), stripPrefix(gold, 'OUT'), stripPrefix(pred, 'OUT')].join(' '));
        break;
      default:
        out.push([...fields, pred].join(' '));
    }
  };
  const boundary = (): void => {
    out.push(layout === 'x-boundary' ? ['-X-', ...new Array<string>(fieldCount).fill('-X-')].join(' ') : '');
  };
  const flush = (): void => {
    if (sentence.length === 0) return;
    sentences++;
    let gold = sentence.map((f) => f[f.length - 1]!);
    if (spec.kind === 'chaos-both') gold = perturb(gold, 'random-tags', spec.rate, r);
    const pred = perturb(gold, spec.kind, spec.rate, r);
    sentence.forEach((f, i) => emit([...f.slice(0, -1), gold[i]!], gold[i]!, pred[i]!));
    sentence = [];
  };
  for (const line of lines) {
    if (sentences >= limit) break;
    const fields = line.split(/[ \t]/).filter((x) => x !== '');
    if (fields.length === 0) {
      flush();
      if (sentences < limit) boundary();
      continue;
    }
    fieldCount = fields.length;
    if (fields[0] === '-DOCSTART-') {
      flush();
      // conlleval reads a -DOCSTART- line as a token; chaos may even tag it
      const pred =
        spec.kind === 'random-tags' || spec.kind === 'chaos-both' ? perturb(['O'], spec.kind, spec.rate, r)[0]! : 'O';
      emit(fields, fields[fields.length - 1]!, pred);
      continue;
    }
    sentence.push(fields);
  }
  flush();
  return out.join('\n') + '\n';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const IOB2_KINDS: Array<[Kind, number]> = [
  ['identity', 0],
  ['all-o', 0],
  ['wrong-type', 0.3],
  ['shift', 0.3],
  ['drop', 0.3],
  ['invent', 0.05],
  ['b-to-i', 0.5],
  ['type-flip', 0.5],
  ['i-after-o', 0.3],
  ['render-iob1', 0],
  ['render-bioes', 0],
  ['render-io', 0],
  ['mixed', 0.2],
  ['random-tags', 0.1],
];

const IOB1_KINDS: Array<[Kind, number]> = [
  ['identity', 0],
  ['render-iob2', 0],
  ['render-bioes', 0],
  ['mixed', 0.2],
  ['shift', 0.3],
  ['random-tags', 0.1],
];

/** Every case the fixture records and the test replays. */
export function allCases(): CaseSpec[] {
  const cases: CaseSpec[] = [];
  for (const source of ['conll2003/dev.txt', 'conll2003/test.txt']) {
    for (const [kind, rate] of IOB2_KINDS) cases.push({ name: `${source}:${kind}`, source, kind, rate });
  }
  for (const source of ['conll2003-iob1/eng.testa', 'conll2003-iob1/eng.testb']) {
    for (const [kind, rate] of IOB1_KINDS) cases.push({ name: `${source}:${kind}`, source, kind, rate });
  }
  const test = 'conll2003/test.txt';
  cases.push(
    { name: `${test}:mixed:two-column`, source: test, kind: 'mixed', rate: 0.2, layout: 'two-column' },
    { name: `${test}:mixed:tab`, source: test, kind: 'mixed', rate: 0.2, layout: 'tab', args: ['-d', '\t'] },
    {
      name: `conll2003/dev.txt:mixed:x-boundary`,
      source: 'conll2003/dev.txt',
      kind: 'mixed',
      rate: 0.2,
      layout: 'x-boundary',
    },
    { name: `${test}:wrong-type:raw`, source: test, kind: 'wrong-type', rate: 0.3, layout: 'raw', args: ['-r'] },
    {
      name: `${test}:mixed:raw-outside`,
      source: test,
      kind: 'mixed',
      rate: 0.2,
      layout: 'raw-outside',
      args: ['-r', '-o', 'OUT'],
    },
    { name: `${test}:mixed:raw-flag-on-prefixed-tags`, source: test, kind: 'mixed', rate: 0.2, args: ['-r'] },
    {
      name: 'conll2003-iob1/eng.testb:random-tags:x-boundary',
      source: 'conll2003-iob1/eng.testb',
      kind: 'random-tags',
      rate: 0.2,
      layout: 'x-boundary',
    },
  );
  for (const seed of [1, 2, 3]) {
    cases.push({
      name: `conll2003/dev.txt:chaos-both:${seed}`,
      source: 'conll2003/dev.txt',
      kind: 'chaos-both',
      rate: 0.3,
      sentences: 400,
    });
  }
  cases.push({
    name: 'conll2003-iob1/eng.testa:chaos-both',
    source: 'conll2003-iob1/eng.testa',
    kind: 'chaos-both',
    rate: 0.5,
    sentences: 300,
  });
  return cases;
}
