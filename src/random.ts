/**
 * A small seeded PRNG (mulberry32) for reproducible shuffles and samples: the same seed gives the same
 * sequence on every machine. (Math.random cannot be seeded; a 15-line generator beats a dependency.)
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates, in place */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  get snapshot(): number {
    return this.state;
  }

  static restore(state: number): Rng {
    const r = new Rng(1);
    r.state = state >>> 0;
    return r;
  }
}

/** Derives an independent seed from a base seed and labels (e.g. seed, "epoch", 3). */
export function deriveSeed(...parts: Array<string | number>): number {
  let h = 2166136261;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}
