import { describe, expect, it } from 'vitest';
import { ScheduleConfig } from '../../src/distill/config.js';
import { scheduleValue } from '../../src/distill/schedule.js';

describe('teacher-share schedules', () => {
  for (const curve of ['linear', 'exponential', 'sigmoid', 'power'] as const) {
    it(`${curve} starts at from, ends at to, and never rises`, () => {
      const s = ScheduleConfig.parse({ curve, from: 0.8, to: 0.1 });
      expect(scheduleValue(s, 0)).toBeCloseTo(0.8, 12);
      expect(scheduleValue(s, 1)).toBeCloseTo(0.1, 12);
      let prev = Infinity;
      for (let i = 0; i <= 100; i++) {
        const v = scheduleValue(s, i / 100);
        expect(v).toBeLessThanOrEqual(prev + 1e-12);
        prev = v;
      }
    });
  }
  it('sigmoid is at the midpoint halfway; power decay is convex', () => {
    const sig = ScheduleConfig.parse({ curve: 'sigmoid', from: 1, to: 0 });
    expect(scheduleValue(sig, 0.5)).toBeCloseTo(0.5, 12);
    const pow = ScheduleConfig.parse({ curve: 'power', from: 1, to: 0, exponent: 2 });
    expect(scheduleValue(pow, 0.5)).toBeCloseTo(0.25, 12);
  });
  it('clamps progress outside [0, 1]', () => {
    const s = ScheduleConfig.parse({ curve: 'linear', from: 1, to: 0 });
    expect(scheduleValue(s, -1)).toBe(1);
    expect(scheduleValue(s, 2)).toBe(0);
  });
});
