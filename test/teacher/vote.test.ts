import { describe, expect, it } from 'vitest';
import { vote } from '../../src/teacher/vote.js';

const s = (start: number, end: number, label: string) => ({ start, end, label, text: `t${start}` });

describe('self-consistency vote', () => {
  it('keeps spans given by a strict majority, with confidence = share of votes', () => {
    const r = vote([
      [s(0, 1, 'ORG'), s(3, 4, 'PER')],
      [s(0, 1, 'ORG')],
      [s(0, 1, 'ORG'), s(3, 4, 'PER')],
      [s(5, 6, 'LOC')],
    ]);
    expect(r.kept.map((k) => [k.start, k.label, k.confidence])).toEqual([[0, 'ORG', 0.75]]);
    // 2 of 4 is not a strict majority
    expect(r.rejected).toContainEqual(
      expect.objectContaining({ start: 3, reason: 'below-confidence', confidence: 0.5 }),
    );
    expect(r.rejected).toContainEqual(
      expect.objectContaining({ start: 5, reason: 'below-confidence', confidence: 0.25 }),
    );
  });

  it('honours --min-confidence and gives one sample confidence 1', () => {
    const samples = [
      [s(0, 1, 'ORG'), s(3, 4, 'PER')],
      [s(0, 1, 'ORG')],
      [s(0, 1, 'ORG'), s(3, 4, 'PER')],
      [s(5, 6, 'LOC')],
    ];
    expect(vote(samples, { minConfidence: 0.5 }).kept.map((k) => k.start)).toEqual([0, 3]);
    expect(vote(samples, { minConfidence: 0.25 }).kept.map((k) => k.start)).toEqual([0, 3, 5]);
    expect(vote([[s(2, 3, 'LOC')]]).kept).toEqual([
      { ...s(2, 3, 'LOC'), votes: 1, confidence: 1, mentionConfidence: 1 },
    ]);
  });

  it('settles type conflicts by votes (a tie rejects all) and overlaps by votes then length', () => {
    const r = vote([[s(0, 1, 'LOC')], [s(0, 1, 'LOC')], [s(0, 1, 'ORG')]], { minConfidence: 0.3 });
    expect(r.kept.map((k) => k.label)).toEqual(['LOC']);
    expect(r.rejected).toEqual([expect.objectContaining({ type: 'ORG', reason: 'type-conflict' })]);
    // a tie keeps the mention with the earliest sample's type
    const tie = vote([[s(0, 1, 'LOC')], [s(0, 1, 'ORG')]], { minConfidence: 0.5 });
    expect(tie.kept.map((k) => [k.label, k.confidence, k.mentionConfidence])).toEqual([['LOC', 0.5, 1]]);
    expect(tie.rejected).toEqual([
      expect.objectContaining({
        type: 'ORG',
        reason: 'type-conflict',
        confidence: 0.5,
        conflictsWith: { start: 0, end: 1, label: 'LOC' },
      }),
    ]);
    const ov = vote([[s(0, 3, 'ORG'), s(2, 3, 'LOC')], [s(0, 3, 'ORG')], [s(2, 3, 'LOC')]], { minConfidence: 0.5 });
    expect(ov.kept.map((k) => [k.start, k.end])).toEqual([[0, 3]]);
    expect(ov.rejected).toEqual([
      expect.objectContaining({ start: 2, reason: 'overlap', conflictsWith: { start: 0, end: 3, label: 'ORG' } }),
    ]);
  });

  it('votes on the mention first: three samples typing "EU" ORG, LOC, MISC keep EU, with the first type at 1/3', () => {
    const r = vote([[s(0, 1, 'ORG')], [s(0, 1, 'LOC')], [s(0, 1, 'MISC')]]);
    expect(r.kept.map((k) => [k.start, k.label, k.confidence, k.mentionConfidence])).toEqual([[0, 'ORG', 1 / 3, 1]]);
    expect(r.rejected.map((x) => [x.type, x.reason])).toEqual([
      ['LOC', 'type-conflict'],
      ['MISC', 'type-conflict'],
    ]);
    // k = 2, ORG and LOC: kept too
    expect(vote([[s(0, 1, 'ORG')], [s(0, 1, 'LOC')]]).kept.map((k) => [k.label, k.confidence])).toEqual([['ORG', 0.5]]);
    // plurality beats the order: LOC, ORG, ORG → ORG at 2/3
    expect(
      vote([[s(0, 1, 'LOC')], [s(0, 1, 'ORG')], [s(0, 1, 'ORG')]]).kept.map((k) => [k.label, k.confidence]),
    ).toEqual([['ORG', 2 / 3]]);
  });

  it('counts a failed sample as an abstention: confidence = votes / samples asked', () => {
    // 1 of 3 samples answered: its spans are kept (nobody voted against) with confidence 1/3, not 1
    const one = vote([[s(2, 3, 'LOC')]], { asked: 3 });
    expect(one.kept.map((k) => [k.label, k.votes, k.confidence])).toEqual([['LOC', 1, 1 / 3]]);
    // 2 of 3 answered and agree: 2/3
    expect(vote([[s(2, 3, 'LOC')], [s(2, 3, 'LOC')]], { asked: 3 }).kept[0]!.confidence).toBeCloseTo(2 / 3);
    // with a threshold, the abstention counts against reaching it
    expect(vote([[s(2, 3, 'LOC')], [s(2, 3, 'LOC')]], { asked: 3, minConfidence: 0.9 }).kept).toEqual([]);
  });
});
