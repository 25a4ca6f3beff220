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
  /** feature string → id */
  private readonly vocab = new Map<string, number>();
  private idf: Float64Array = new Float64Array(0);
  /** per feature: the documents holding it and their weights (features in > half the pool are left out) */
  private postDocs: Int32Array[] = [];
  private postWeights: Float32Array[] = [];
  private readonly keys: string[];
  /** scratch space for scoring, reused by every query */
  private readonly scores: Float32Array;

  constructor(readonly pool: Demo[]) {
    const n = pool.length;
    const docs: Array<Map<number, number>> = pool.map((d) => {
      const ids = new Map<number, number>();
      for (const [f, c] of features(d.tokens)) {
        let id = this.vocab.get(f);
        if (id === undefined) this.vocab.set(f, (id = this.vocab.size));
        ids.set(id, c);
      }
      return ids;
    });
    const df = new Int32Array(this.vocab.size);
    for (const d of docs) for (const id of d.keys()) df[id]!++;
    this.idf = new Float64Array(this.vocab.size);
    for (let i = 0; i < df.length; i++) this.idf[i] = Math.log((n + 1) / (df[i]! + 1)) + 1;
    const maxDf = Math.max(2, n / 2);
    const fill = new Int32Array(this.vocab.size);
    this.postDocs = Array.from(df, (c) => new Int32Array(c > maxDf ? 0 : c));
    this.postWeights = Array.from(df, (c) => new Float32Array(c > maxDf ? 0 : c));
    docs.forEach((d, doc) => {
      for (const [id, w] of this.weigh(d)) {
        if (df[id]! > maxDf) continue;
        const k = fill[id]!++;
        this.postDocs[id]![k] = doc;
        this.postWeights[id]![k] = w;
      }
    });
    this.keys = pool.map((d) => d.tokens.join('\u0000'));
    this.scores = new Float32Array(n);
  }

  /** L2-normalised TF-IDF vector over feature ids; features unseen in the pool get the highest IDF */
  private weigh(counts: Map<number, number>): Map<number, number> {
    const vec = new Map<number, number>();
    let norm = 0;
    for (const [id, c] of counts) {
      const w = Math.log(1 + c) * this.idf[id]!;
      vec.set(id, w);
      norm += w * w;
    }
    // a query's unseen features: counted in its norm, matched by nothing
    norm = Math.sqrt(norm) || 1;
    for (const [id, w] of vec) vec.set(id, w / norm);
    return vec;
  }

  private queryVector(tokens: string[]): Map<number, number> {
    const maxIdf = Math.log(this.pool.length + 1) + 1;
    const vec = new Map<number, number>();
    let norm = 0;
    for (const [f, c] of features(tokens)) {
      const id = this.vocab.get(f);
      const w = Math.log(1 + c) * (id === undefined ? maxIdf : this.idf[id]!);
      norm += w * w;
      if (id !== undefined) vec.set(id, w);
    }
    norm = Math.sqrt(norm) || 1;
    for (const [id, w] of vec) vec.set(id, w / norm);
    return vec;
  }

  /** pool indexes ranked by similarity to `tokens` (best first), with their cosine */
  rank(tokens: string[], limit = 50): Array<{ index: number; score: number }> {
    const scores = this.scores;
    const touched: number[] = [];
    for (const [id, w] of this.queryVector(tokens)) {
      const docs = this.postDocs[id]!;
      const ws = this.postWeights[id]!;
      for (let k = 0; k < docs.length; k++) {
        const doc = docs[k]!;
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] = scores[doc]! + w * ws[k]!;
      }
    }
    const self = tokens.join('\u0000');
    const ranked = touched
      .filter((i) => this.keys[i] !== self)
      .map((index) => ({ index, score: scores[index]! }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, limit);
    for (const i of touched) scores[i] = 0;
    return ranked;
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
