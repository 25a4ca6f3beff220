/**
 * Seeded pseudo-random numbers for parameter initialisation and dropout masks. xoshiro128** (public domain,
 * Blackman & Vigna): fast in JavaScript's 32-bit integer arithmetic and good enough statistically. Streams
 * are derived from (seed, stream id) with splitmix32, so e.g. the dropout masks of step k depend only on the
 * seed and k — a resumed run reproduces them without replaying earlier steps.
 *
 * The seeded generator of training: weight initialisation and dropout (student), batch order and data
 * splits (trainer, distillation). (Math.random cannot be seeded; the algorithm is a few lines.) The teacher
 * simulator has its own keyed generator (teacher/sim/rng.ts), whose draws depend on a request's content,
 * not on an order of calls.
 */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number, stream = 0) {
    let s = splitmix32((seed | 0) ^ Math.imul(stream | 0, 0x27d4eb2f));
    s = splitmix32(s ^ ((seed / 2 ** 32) | 0));
    this.a = s = splitmix32(s);
    this.b = s = splitmix32(s);
    this.c = s = splitmix32(s);
    this.d = splitmix32(s) || 1;
  }

  /** a generator for a derived stream: the same (seed, ...keys) always gives the same numbers */
  static derive(seed: number, ...keys: number[]): Rng {
    let h = seed >>> 0;
    for (const k of keys) h = (Math.imul(h ^ (k >>> 0), 0x9e3779b1) + 0x7f4a7c15) >>> 0;
    return new Rng(h);
  }

  /** a generator that continues from `getState()` (a pending `normal()` spare is not part of the state) */
  static fromState(words: readonly number[]): Rng {
    if (words.length !== 4) throw new Error('Rng state must be 4 uint32 words');
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = words.map((w) => w | 0) as [number, number, number, number];
    return r;
  }

  getState(): number[] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates, in place */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = tmp;
    }
    return xs;
  }

  /** uniform 32-bit unsigned integer */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** standard normal (Box–Muller) */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills `out` with an inverted-dropout mask: 0 with probability p, else 1/(1-p). Uses 16 random bits per
   * element (two elements per 32-bit draw), so p is honoured to within 2⁻¹⁶.
   */
  dropoutMask(out: Float32Array, p: number): Float32Array {
    const keep = 1 / (1 - p);
    const threshold = Math.round(p * 65536);
    const n = out.length;
    let i = 0;
    // branch-free: (bits − threshold) >>> 31 is 1 exactly when bits < threshold (dropped); ~1/3 faster than
    // a conditional, whose outcome the CPU cannot predict
    for (; i + 1 < n; i += 2) {
      const r = this.nextU32();
      out[i] = keep * (1 - (((r & 0xffff) - threshold) >>> 31));
      out[i + 1] = keep * (1 - (((r >>> 16) - threshold) >>> 31));
    }
    if (i < n) out[i] = keep * (1 - (((this.nextU32() & 0xffff) - threshold) >>> 31));
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
