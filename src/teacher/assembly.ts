/**
 * Assembling the job's output: the state of each open sentence (its samples' grounded answers and failed
 * samples), the vote when all samples are in, and the output in input order.
 *
 * A sentence is open from when it is read until it is handed to `emit` (or counted as failed). Outcomes are
 * handed on strictly in input order: a finished sentence waits for the ones before it. At the end of a
 * stopped run (budget, cancel, fatal error), `flush` hands on every finished sentence in order, skipping the
 * unfinished ones (they are `pending`, not written).
 *
 * Bounded output per sentence: at most MAX_REJECTED rejected entities are kept (the rest are counted in
 * `rejectedOmitted`), and a rejected entity's text is cut to MAX_REJECTED_TEXT characters — a hostile
 * answer cannot make a two-sentence input into megabytes of output. Statistics count every rejection.
 */
import type { Sentence } from '../corpus/types.js';
import type { GroundResult, RejectedEntity } from './ground.js';
import { vote } from './vote.js';

export const MAX_REJECTED = 50;
export const MAX_REJECTED_TEXT = 200;

export interface AnnotatedEntity {
  /** TOKEN offsets, end exclusive */
  start: number;
  end: number;
  label: string;
  text: string;
  /** share of samples that gave this span */
  confidence: number;
  /** CHARACTER offsets into the sentence's text, when the input had text */
  charStart?: number;
  charEnd?: number;
}

export interface AnnotatedSentence {
  id: string;
  /** position in the input (0-based) */
  index: number;
  tokens: string[];
  entities: AnnotatedEntity[];
  rejected: RejectedEntity[];
  /** rejected entities left out of `rejected` (over MAX_REJECTED) */
  rejectedOmitted?: number;
  teacher: { model: string; samples: number };
}

export interface FailedSentence {
  id: string;
  index: number;
  reason: string;
}

export interface AssemblyStats {
  annotated: number;
  failed: number;
  hallucinations: number;
  rejectedByReason: Record<string, number>;
}

interface Open {
  sentence: Sentence;
  results: Map<number, GroundResult>;
  failedSamples: Map<number, string>;
  outcome?: { annotated: AnnotatedSentence } | { failed: FailedSentence };
}

export interface AssemblerOptions {
  samples: number;
  minConfidence?: number;
  stats: AssemblyStats;
  /** the teacher's model name as last reported by the server */
  model: () => string;
  emit: (a: AnnotatedSentence) => void;
  fail: (f: FailedSentence) => void;
  /** one sentence finished (annotated or failed) */
  onFinished?: () => void;
}

export class Assembler {
  private readonly open = new Map<number, Open>();
  private nextOut = 0;

  constructor(private readonly o: AssemblerOptions) {}

  /** sentences read and not yet handed on */
  get size(): number {
    return this.open.size;
  }

  /** sentences read but not finished */
  get unfinished(): number {
    let n = 0;
    for (const s of this.open.values()) if (!s.outcome) n++;
    return n;
  }

  add(index: number, sentence: Sentence): void {
    this.open.set(index, { sentence, results: new Map(), failedSamples: new Map() });
  }

  sentence(index: number): Sentence {
    const s = this.open.get(index);
    if (!s) throw new Error(`internal: sentence ${index} is not open`);
    return s.sentence;
  }

  result(index: number, sample: number, grounded: GroundResult): void {
    const s = this.open.get(index);
    if (!s || s.outcome) return;
    s.results.set(sample, grounded);
    this.finish(index, s);
  }

  failSample(index: number, sample: number, reason: string): void {
    const s = this.open.get(index);
    if (!s || s.outcome) return;
    s.failedSamples.set(sample, reason);
    this.finish(index, s);
  }

  private finish(i: number, st: Open): void {
    const { samples, stats } = this.o;
    if (st.results.size + st.failedSamples.size < samples) return;
    const s = st.sentence;
    const id = s.id ?? String(i + 1);
    if (st.results.size === 0) {
      stats.failed++;
      st.outcome = { failed: { id, index: i, reason: [...new Set(st.failedSamples.values())].join('; ') } };
    } else {
      st.outcome = { annotated: this.assemble(i, id, st) };
      stats.annotated++;
    }
    this.o.onFinished?.();
    this.drain(false);
  }

  private assemble(i: number, id: string, st: Open): AnnotatedSentence {
    const { samples, stats } = this.o;
    const s = st.sentence;
    const sampleIdx = [...st.results.keys()].sort((a, b) => a - b);
    const rejected: RejectedEntity[] = [];
    for (const si of sampleIdx) {
      for (const r of st.results.get(si)!.rejected) rejected.push(samples > 1 ? { ...r, sample: si } : r);
    }
    const voted = vote(
      sampleIdx.map((si) => st.results.get(si)!.spans),
      // samples that failed abstain: confidence = votes / samples asked
      { asked: samples, ...(this.o.minConfidence !== undefined ? { minConfidence: this.o.minConfidence } : {}) },
    );
    rejected.push(...voted.rejected);
    for (const r of rejected) {
      stats.rejectedByReason[r.reason] = (stats.rejectedByReason[r.reason] ?? 0) + 1;
      if (r.reason === 'not-found') stats.hallucinations++;
    }
    const kept = rejected
      .slice(0, MAX_REJECTED)
      .map((r) =>
        typeof r.text === 'string' && r.text.length > MAX_REJECTED_TEXT
          ? { ...r, text: `${r.text.slice(0, MAX_REJECTED_TEXT)}…` }
          : r,
      );
    return {
      id,
      index: i,
      tokens: s.tokens,
      entities: voted.kept.map((v) => {
        const e: AnnotatedEntity = {
          start: v.start,
          end: v.end,
          label: v.label,
          text: v.text,
          confidence: v.confidence,
        };
        const offs = s.tokenOffsets;
        if (offs && offs[v.start] && offs[v.end - 1]) {
          e.charStart = offs[v.start]![0];
          e.charEnd = offs[v.end - 1]![1];
        }
        return e;
      }),
      rejected: kept,
      ...(rejected.length > MAX_REJECTED ? { rejectedOmitted: rejected.length - MAX_REJECTED } : {}),
      teacher: { model: this.o.model(), samples: sampleIdx.length },
    };
  }

  /** hands on finished sentences in input order; with `skipUnfinished` (the end), past unfinished ones too */
  private drain(skipUnfinished: boolean): void {
    if (skipUnfinished) {
      for (const k of [...this.open.keys()].sort((a, b) => a - b)) {
        const st = this.open.get(k)!;
        this.open.delete(k);
        if (st.outcome) this.handOn(st);
      }
      return;
    }
    for (let st = this.open.get(this.nextOut); st?.outcome; st = this.open.get(this.nextOut)) {
      this.open.delete(this.nextOut);
      this.nextOut++;
      this.handOn(st);
    }
  }

  private handOn(st: Open): void {
    if (!st.outcome) return;
    if ('annotated' in st.outcome) this.o.emit(st.outcome.annotated);
    else this.o.fail(st.outcome.failed);
  }

  /** the end of the run: hands on every finished sentence; returns how many were left unfinished */
  flush(): number {
    const unfinished = this.unfinished;
    this.drain(true);
    return unfinished;
  }
}
