/**
 * Self-consistency: k sampled answers for one sentence vote — on the MENTION first, then on its type.
 *
 * A mention is a token span (start, end); each sample votes at most once for it, with the type it gave.
 * `asked` is the number of samples requested; a sample that failed after all retries ABSTAINS: it is not
 * in `samples`, votes for nothing and against nothing, but still counts in every confidence's denominator.
 *
 *   - mention kept: by default when a strict majority of the samples that answered found it (votes >
 *     answered / 2, so with one answer every grounded span is kept); with `minConfidence`, when
 *     votes / asked ≥ minConfidence;
 *   - its type: the one most of those votes gave; a tie goes to the type of the earliest sample among
 *     the tied ones (k = 3 samples typing "EU" as ORG, LOC, MISC keep "EU" as ORG);
 *   - `confidence` = votes for the kept type / asked (ORG above: 1/3; one surviving sample of 3: 1/3),
 *     `mentionConfidence` = votes for the mention / asked;
 *   - overlapping kept mentions: more mention votes wins, then the longer span, then the earlier one
 *     (`overlap`).
 * Everything not kept is returned as rejected with its confidence: other types of a kept mention as
 * `type-conflict` (naming the winner), mentions short of the threshold as `below-confidence`.
 */
import { resolveOverlaps, type GroundedSpan, type RejectedEntity } from './ground.js';

export interface VotedSpan extends GroundedSpan {
  /** share of the samples asked that gave this span with this type, in (0, 1] */
  confidence: number;
  /** votes for this span with this type */
  votes: number;
  /** share of the samples asked that found this span, whatever its type */
  mentionConfidence: number;
}

export interface VoteOptions {
  /** keep mentions found by at least this share of the samples asked; default: strict majority of those answered */
  minConfidence?: number;
  /** samples requested (default: samples.length); the missing ones abstain */
  asked?: number;
}

const EPS = 1e-9;

interface Mention {
  start: number;
  end: number;
  text: string;
  votes: number;
  /** type → votes and the first sample that gave it */
  types: Map<string, { votes: number; first: number }>;
}

export function vote(
  samples: GroundedSpan[][],
  opts: VoteOptions = {},
): { kept: VotedSpan[]; rejected: RejectedEntity[] } {
  const answered = samples.length;
  const asked = Math.max(opts.asked ?? answered, answered);
  if (answered === 0) return { kept: [], rejected: [] };
  const mentions = new Map<string, Mention>();
  samples.forEach((spans, sample) => {
    const seen = new Set<string>();
    for (const s of spans) {
      const key = `${s.start}:${s.end}`;
      if (seen.has(key)) continue; // one vote per sample per mention (grounding already rejected conflicts)
      seen.add(key);
      const m = mentions.get(key) ?? { start: s.start, end: s.end, text: s.text, votes: 0, types: new Map() };
      m.votes++;
      const t = m.types.get(s.label) ?? { votes: 0, first: sample };
      t.votes++;
      m.types.set(s.label, t);
      mentions.set(key, m);
    }
  });
  const rejected: RejectedEntity[] = [];
  const passing: VotedSpan[] = [];
  for (const m of mentions.values()) {
    const ranked = [...m.types.entries()].sort((a, b) => b[1].votes - a[1].votes || a[1].first - b[1].first);
    const mentionConfidence = m.votes / asked;
    const ok =
      opts.minConfidence === undefined ? m.votes * 2 > answered : mentionConfidence + EPS >= opts.minConfidence;
    if (!ok) {
      for (const [label, t] of ranked) {
        rejected.push({
          text: m.text,
          type: label,
          reason: 'below-confidence',
          start: m.start,
          end: m.end,
          confidence: t.votes / asked,
        });
      }
      continue;
    }
    const [label, t] = ranked[0]!;
    passing.push({
      start: m.start,
      end: m.end,
      label,
      text: m.text,
      votes: t.votes,
      confidence: t.votes / asked,
      mentionConfidence,
    });
    for (const [other, o] of ranked.slice(1)) {
      rejected.push({
        text: m.text,
        type: other,
        reason: 'type-conflict',
        start: m.start,
        end: m.end,
        confidence: o.votes / asked,
        conflictsWith: { start: m.start, end: m.end, label },
      });
    }
  }
  const { kept, conflicts } = resolveOverlaps(
    passing,
    (a, b) => b.mentionConfidence - a.mentionConfidence || b.end - b.start - (a.end - a.start) || a.start - b.start,
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
