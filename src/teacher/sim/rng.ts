/**
 * Deterministic randomness for the simulator: every draw is a function of a key (seed, sentence, sample,
 * attempt ...), so the same request gives the same answer in any order and under any concurrency.
 */
import { createHash } from 'node:crypto';

/** A small PRNG (mulberry32) seeded from a string key. */
export class Rng {
  private state: number;

  constructor(key: string) {
    const digest = createHash('sha256').update(key).digest();
    this.state = digest.readUInt32LE(0) ^ digest.readUInt32LE(4);
  }

  /** uniform in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** true with probability p */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[this.int(items.length)]!;
  }
}
