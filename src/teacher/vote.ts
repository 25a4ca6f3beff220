/**
 * Self-consistency: k sampled answers for one sentence vote on spans.
 *
 * A span is (start, end, label) in TOKEN offsets; each sample votes at most once for it. Its `confidence`
 * is votes / k, where k counts the samples that produced a usable answer for the sentence (a sample that
 * failed after all retries does not vote, and does not count against anyone).
 * Kept: confidence ≥ `minConfidence`; by default a strict majority (votes > k/2), so with k = 1 every
 * grounded span is kept with confidence 1.
 * Conflicts among kept spans: the same tokens with different labels → the label with more votes wins (a tie
 * rejects all of them: `type-conflict`); overlapping spans → more votes wins, then the longer span, then
 * the earlier one (`overlap`). Everything not kept is returned as rejected with its confidence.
 */
import { resolveOverlaps, type GroundedSpan, type RejectedEntity } from './ground.js';

export interface VotedSpan extends GroundedSpan {
  /** share of samples that gave this span, in (0, 1] */
  confidence: number;
  votes: number;
}

export interface VoteOptions {
  /** keep spans with at least this share of votes; default: strict majority */
  minConfidence?: number;
}

const EPS = 1e-9;

export function vote(samples: GroundedSpan[][], opts: VoteOptions = {}): { kept: VotedSpan[]; rejected: RejectedEntity[] } {
  const k = samples.length;
  if (k === 0) return { kept: [], rejected: [] };
  const tally = new Map<string, VotedSpan>();
  for (const spans of samples) {
    const seen = new Set<string>();
    for (const s of spans) {
      const key = `${s.start}:${s.end}:${s.label}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const t = tally.get(key) ?? { ...s, votes: 0, confidence: 0 };
      t.votes++;
      tally.set(key, t);
    }
  }
  const rejected: RejectedEntity[] = [];
  const passing: VotedSpan[] = [];
  for (const t of tally.values()) {
    t.confidence = t.votes / k;
    const ok = opts.minConfidence === undefined ? t.votes * 2 > k : t.confidence + EPS >= opts.minConfidence;
    if (ok) passing.push(t);
    else rejected.push({ text: t.text, type: t.label, reason: 'below-confidence', start: t.start, end: t.end, confidence: t.confidence });
  }
  // same tokens, different labels: most votes wins, a tie rejects all
  const byRange = new Map<string, VotedSpan[]>();
  for (const p of passing) byRange.set(`${p.start}:${p.end}`, [...(byRange.get(`${p.start}:${p.end}`) ?? []), p]);
  const unique: VotedSpan[] = [];
  for (const list of byRange.values()) {
    list.sort((a, b) => b.votes - a.votes);
    if (list.length === 1 || list[0]!.votes > list[1]!.votes) {
      unique.push(list[0]!);
      for (const loser of list.slice(1)) {
        rejected.push({ text: loser.text, type: loser.label, reason: 'type-conflict', start: loser.start, end: loser.end, confidence: loser.confidence, conflictsWith: { start: list[0]!.start, end: list[0]!.end, label: list[0]!.label } });
      }
    } else {
      for (const l of list) rejected.push({ text: l.text, type: l.label, reason: 'type-conflict', start: l.start, end: l.end, confidence: l.confidence });
    }
  }
  const { kept, conflicts } = resolveOverlaps(
    unique,
    (a, b) => b.votes - a.votes || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  for (const { item, with: w } of conflicts) {
    rejected.push({
      text: item.text,
      type: item.label,
      reason: 'overlap',
      start: item.start,
      end: item.end,
      confidence: item.confidence,
      ...(w ? { conflictsWith: { start: w.start, end: w.end, label: w.label } } : {}),
    });
  }
  return { kept, rejected };
}
