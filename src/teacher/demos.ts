/**
 * Choosing few-shot demonstrations: for each sentence, the human-labelled sentences most similar to it.
 *
 * Similarity is the cosine of TF-IDF vectors over three kinds of features of the lower-cased tokens:
 *   - words (`w:lamb`) — the same topic and the same names;
 *   - character trigrams with word-boundary marks (`c:^le`, `c:shi`, `c:re$`) — morphology that words miss:
 *     "-shire", "-berg", "-ese", names' spelling patterns, "1-0"-style scores, inflected forms;
 *   - word shapes (`s:Xx`, `s:XX`, `s:d-d`) — the sentence's genre: an all-capitals headline, a sports
 *     results table, a dateline, a quote.
 * TF is log(1 + count); IDF is log((N + 1) / (df + 1)) + 1; vectors are L2-normalised. Why this rather
 * than embeddings: it needs no model (nothing can be downloaded here), is deterministic, costs milliseconds,
 * and on news NER the nearest neighbours it finds share genre and name types, which is what a demonstration
 * should show. Features present in more than half of the pool carry almost no weight and are skipped when
 * scoring (an inverted index then only walks informative postings).
 *
 * A pool sentence whose tokens equal the query's is never chosen (the answer would leak into the prompt).
 * If none of the top k has an entity, the last pick is replaced by the most similar sentence that has one,
 * so every prompt shows at least one worked entity. For a batch, each sentence's ranked list is taken in
 * turn (the best for sentence 1, the best for sentence 2, …, then the second best …) until k are chosen.
 */
import type { Demo } from './prompt.js';

function shape(token: string): string {
  return token
    .replace(/\p{Lu}/gu, 'X')
    .replace(/\p{Ll}/gu, 'x')
    .replace(/\p{N}/gu, 'd')
    .replace(/(.)\1+/gu, '$1');
}

export function features(tokens: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (f: string): void => {
    counts.set(f, (counts.get(f) ?? 0) + 1);
  };
  for (const t of tokens) {
    const lower = t.toLowerCase();
    add(`w:${lower}`);
    add(`s:${shape(t)}`);
    const marked = `^${lower}$`;
    const chars = Array.from(marked);
    for (let i = 0; i + 3 <= chars.length; i++) add(`c:${chars[i]}${chars[i + 1]}${chars[i + 2]}`);
  }
  return counts;
}

export class DemoSelector {
  private readonly idf = new Map<string, number>();
  private readonly postings = new Map<string, Array<[number, number]>>();
  private readonly keys: string[];
  private readonly maxDf: number;

  constructor(readonly pool: Demo[]) {
    const df = new Map<string, number>();
    const feats = pool.map((d) => features(d.tokens));
    for (const f of feats) for (const k of f.keys()) df.set(k, (df.get(k) ?? 0) + 1);
    const n = pool.length;
    for (const [k, v] of df) this.idf.set(k, Math.log((n + 1) / (v + 1)) + 1);
    this.maxDf = Math.max(2, n / 2);
    feats.forEach((f, i) => {
      const vec = this.weigh(f);
      for (const [k, w] of vec) {
        if ((df.get(k) ?? 0) > this.maxDf) continue;
        let list = this.postings.get(k);
        if (!list) this.postings.set(k, (list = []));
        list.push([i, w]);
      }
    });
    this.keys = pool.map((d) => d.tokens.join('\u0000'));
  }

  /** L2-normalised TF-IDF vector; features never seen in the pool get the highest IDF */
  private weigh(counts: Map<string, number>): Map<string, number> {
    const maxIdf = Math.log(this.pool.length + 1) + 1;
    const vec = new Map<string, number>();
    let norm = 0;
    for (const [k, c] of counts) {
      const w = Math.log(1 + c) * (this.idf.get(k) ?? maxIdf);
      vec.set(k, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm) || 1;
    for (const [k, w] of vec) vec.set(k, w / norm);
    return vec;
  }

  /** pool indexes ranked by similarity to `tokens` (best first), with their cosine */
  rank(tokens: string[], limit = 50): Array<{ index: number; score: number }> {
    const q = this.weigh(features(tokens));
    const scores = new Map<number, number>();
    for (const [k, w] of q) {
      const list = this.postings.get(k);
      if (!list) continue;
      for (const [i, v] of list) scores.set(i, (scores.get(i) ?? 0) + w * v);
    }
    const self = tokens.join('\u0000');
    return [...scores.entries()]
      .filter(([i]) => this.keys[i] !== self)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, limit)
      .map(([index, score]) => ({ index, score }));
  }

  /** the k demonstrations for one request about `sentences` (see the file comment) */
  select(sentences: string[][], k: number): Demo[] {
    if (k <= 0 || this.pool.length === 0) return [];
    const ranked = sentences.map((s) => this.rank(s, Math.max(50, k * 4)));
    const chosen: number[] = [];
    for (let depth = 0; chosen.length < k; depth++) {
      let any = false;
      for (const r of ranked) {
        const pick = r[depth];
        if (!pick) continue;
        any = true;
        if (!chosen.includes(pick.index) && chosen.length < k) chosen.push(pick.index);
      }
      if (!any) break;
    }
    if (chosen.length > 0 && !chosen.some((i) => this.pool[i]!.spans.length > 0)) {
      const withEntity = ranked
        .flat()
        .sort((a, b) => b.score - a.score)
        .find((r) => this.pool[r.index]!.spans.length > 0 && !chosen.includes(r.index));
      if (withEntity) chosen[chosen.length - 1] = withEntity.index;
    }
    return chosen.map((i) => this.pool[i]!);
  }
}
