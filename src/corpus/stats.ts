/** Corpus statistics for `nerd stats`: counts, entities per type, sentence-length histogram. */
import type { Corpus } from './types.js';

export interface LengthBin {
  /** inclusive token-count range of the bin */
  min: number;
  max: number;
  count: number;
}

export interface CorpusStats {
  sentences: number;
  /**
   * documents: sentences after a -DOCSTART- line, plus one for sentences before the first such line; 0 when
   * the corpus marks no documents
   */
  documents: number;
  tokens: number;
  entities: number;
  /** entities per type, types sorted by name (as conlleval lists them) */
  types: Record<string, number>;
  /** tokens inside entities */
  entityTokens: number;
  /** sentences without any entity */
  sentencesWithoutEntities: number;
  length: { min: number; max: number; mean: number; median: number };
  /** sentence lengths in power-of-two bins: 1, 2-3, 4-7, 8-15, ... */
  lengthHistogram: LengthBin[];
  /** entity lengths in tokens: 1, 2, 3, ..., with the last bin open-ended (max = Infinity in memory, null in JSON) */
  entityLengthHistogram: LengthBin[];
}

export function corpusStats(corpus: Corpus): CorpusStats {
  const types = new Map<string, number>();
  const lengths: number[] = [];
  let tokens = 0;
  let entities = 0;
  let entityTokens = 0;
  let documents = 0;
  let empty = 0;
  const entityLen = new Map<number, number>();
  for (const s of corpus.sentences) {
    tokens += s.tokens.length;
    lengths.push(s.tokens.length);
    if (s.docStart) documents++;
    if (s.spans.length === 0) empty++;
    for (const sp of s.spans) {
      entities++;
      types.set(sp.label, (types.get(sp.label) ?? 0) + 1);
      const n = sp.end - sp.start;
      entityTokens += n;
      entityLen.set(n, (entityLen.get(n) ?? 0) + 1);
    }
  }
  if (documents > 0 && !corpus.sentences[0]!.docStart) documents++;
  lengths.sort((a, b) => a - b);
  const n = lengths.length;
  const median = n === 0 ? 0 : n % 2 ? lengths[(n - 1) / 2]! : (lengths[n / 2 - 1]! + lengths[n / 2]!) / 2;
  const histogram: LengthBin[] = [];
  if (n > 0) {
    for (let lo = 1; lo <= lengths[n - 1]!; lo *= 2) histogram.push({ min: lo, max: lo * 2 - 1, count: 0 });
    for (const len of lengths) {
      const bin = len <= 1 ? 0 : Math.floor(Math.log2(len));
      histogram[bin]!.count++;
    }
  }
  const maxEntityBin = 6;
  const entityHistogram: LengthBin[] = [];
  for (let k = 1; k <= maxEntityBin; k++)
    entityHistogram.push({ min: k, max: k === maxEntityBin ? Infinity : k, count: 0 });
  for (const [len, c] of entityLen) entityHistogram[Math.min(len, maxEntityBin) - 1]!.count += c;
  while (entityHistogram.length > 0 && entityHistogram[entityHistogram.length - 1]!.count === 0) entityHistogram.pop();
  return {
    sentences: n,
    documents,
    tokens,
    entities,
    types: Object.fromEntries([...types].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    entityTokens,
    sentencesWithoutEntities: empty,
    length: { min: n ? lengths[0]! : 0, max: n ? lengths[n - 1]! : 0, mean: n ? tokens / n : 0, median },
    lengthHistogram: histogram,
    entityLengthHistogram: entityHistogram,
  };
}

const fmt = (x: number): string => x.toLocaleString('en-US');

/** The human-readable report `nerd stats` prints. */
export function formatStats(stats: CorpusStats, header?: string): string {
  const out: string[] = [];
  if (header) out.push(header);
  const rows: Array<[string, string]> = [
    ['sentences', fmt(stats.sentences)],
    ['tokens', fmt(stats.tokens)],
    ['entities', fmt(stats.entities)],
  ];
  if (stats.documents > 0) rows.splice(1, 0, ['documents', fmt(stats.documents)]);
  const w = Math.max(...rows.map(([, v]) => v.length));
  for (const [k, v] of rows) out.push(`${k.padEnd(10)} ${v.padStart(w)}`);
  const typeNames = Object.keys(stats.types);
  if (typeNames.length > 0) {
    const tw = Math.max(...typeNames.map((t) => t.length));
    const cw = Math.max(...Object.values(stats.types).map((c) => fmt(c).length));
    out.push('', 'entities per type:');
    for (const t of typeNames) {
      const c = stats.types[t]!;
      out.push(`  ${t.padEnd(tw)} ${fmt(c).padStart(cw)}  ${pct(c, stats.entities)}`);
    }
  }
  const { min, max, mean, median } = stats.length;
  out.push(
    '',
    `sentence length (tokens): min ${min}, median ${median}, mean ${mean.toFixed(1)}, max ${max}; ${fmt(stats.sentencesWithoutEntities)} sentences without entities`,
  );
  out.push(...bars(stats.lengthHistogram.map((b) => [b.min === b.max ? `${b.min}` : `${b.min}-${b.max}`, b.count])));
  if (stats.entityLengthHistogram.length > 0) {
    out.push('', 'entity length (tokens):');
    out.push(...bars(stats.entityLengthHistogram.map((b) => [b.max === Infinity ? `${b.min}+` : `${b.min}`, b.count])));
  }
  return out.join('\n') + '\n';
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1).padStart(5)}%` : '';
}

function bars(rows: Array<[string, number]>): string[] {
  const lw = Math.max(0, ...rows.map(([l]) => l.length));
  const cw = Math.max(0, ...rows.map(([, c]) => fmt(c).length));
  const top = Math.max(1, ...rows.map(([, c]) => c));
  return rows.map(([l, c]) =>
    `  ${l.padStart(lw)} ${fmt(c).padStart(cw)} ${'#'.repeat(Math.round((40 * c) / top))}`.trimEnd(),
  );
}

/** JSON form (the open-ended entity-length bin gets max null). */
export function statsJson(stats: CorpusStats): unknown {
  return {
    ...stats,
    entityLengthHistogram: stats.entityLengthHistogram.map((b) => ({ ...b, max: b.max === Infinity ? null : b.max })),
  };
}
