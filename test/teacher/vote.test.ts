import { describe, expect, it } from 'vitest';
import { vote } from '../../src/teacher/vote.js';

const s = (start: number, end: number, label: string) => ({ start, end, label, text: `t${start}` });

describe('self-consistency vote', () => {
  it('keeps spans given by a strict majority, with confidence = share of votes', () => {
    const r = vote([[s(0, 1, 'ORG'), s(3, 4, 'PER')], [s(0, 1, 'ORG')], [s(0, 1, 'ORG'), s(3, 4, 'PER')], [s(5, 6, 'LOC')]]);
    expect(r.kept.map((k) => [k.start, k.label, k.confidence])).toEqual([[0, 'ORG', 0.75]]);
    // 2 of 4 is not a strict majority
    expect(r.rejected).toContainEqual(expect.objectContaining({ start: 3, reason: 'below-confidence', confidence: 0.5 }));
    expect(r.rejected).toContainEqual(expect.objectContaining({ start: 5, reason: 'below-confidence', confidence: 0.25 }));
  });

  it('honours --min-confidence and gives one sample confidence 1', () => {
    const samples = [[s(0, 1, 'ORG'), s(3, 4, 'PER')], [s(0, 1, 'ORG')], [s(0, 1, 'ORG'), s(3, 4, 'PER')], [s(5, 6, 'LOC')]];
    expect(vote(samples, { minConfidence: 0.5 }).kept.map((k) => k.start)).toEqual([0, 3]);
    expect(vote(samples, { minConfidence: 0.25 }).kept.map((k) => k.start)).toEqual([0, 3, 5]);
    expect(vote([[s(2, 3, 'LOC')]]).kept).toEqual([{ ...s(2, 3, 'LOC'), votes: 1, confidence: 1 }]);
  });

  it('settles type conflicts by votes (a tie rejects all) and overlaps by votes then length', () => {
    const r = vote([[s(0, 1, 'LOC')], [s(0, 1, 'LOC')], [s(0, 1, 'ORG')]], { minConfidence: 0.3 });
    expect(r.kept.map((k) => k.label)).toEqual(['LOC']);
    expect(r.rejected).toEqual([expect.objectContaining({ type: 'ORG', reason: 'type-conflict' })]);
    const tie = vote([[s(0, 1, 'LOC')], [s(0, 1, 'ORG')]], { minConfidence: 0.5 });
    expect(tie.kept).toEqual([]);
    expect(tie.rejected.map((x) => x.reason)).toEqual(['type-conflict', 'type-conflict']);
    const ov = vote([[s(0, 3, 'ORG'), s(2, 3, 'LOC')], [s(0, 3, 'ORG')], [s(2, 3, 'LOC')]], { minConfidence: 0.5 });
    expect(ov.kept.map((k) => [k.start, k.end])).toEqual([[0, 3]]);
    expect(ov.rejected).toEqual([expect.objectContaining({ start: 2, reason: 'overlap', conflictsWith: { start: 0, end: 3, label: 'ORG' } })]);
  });
});
