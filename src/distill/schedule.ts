/**
 * Curves for blending teacher and human data over a phase (the paper's sigmoid and power-decay blends, plus
 * linear and exponential). Each maps training progress t ∈ [0, 1] to a value between `from` (t = 0) and `to`
 * (t = 1); the value is the teacher's share of a batch or the loss weight of its tokens.
 */
import type { ScheduleConfig } from './config.js';

export function scheduleValue(s: ScheduleConfig, t: number): number {
  const p = Math.min(1, Math.max(0, t));
  const span = s.from - s.to;
  switch (s.curve) {
    case 'constant':
      return s.from;
    case 'linear':
      return s.to + span * (1 - p);
    case 'power':
      return s.to + span * Math.pow(1 - p, s.exponent);
    case 'exponential': {
      // normalised so that the curve really reaches `to` at t = 1
      const e0 = Math.exp(-s.rate * p);
      const e1 = Math.exp(-s.rate);
      return s.to + (span * (e0 - e1)) / (1 - e1);
    }
    case 'sigmoid': {
      // normalised logistic: exactly `from` at t = 0 and `to` at t = 1, steepest at t = 0.5
      const f = (x: number) => 1 / (1 + Math.exp(s.steepness * (x - 0.5)));
      return s.to + (span * (f(p) - f(1))) / (f(0) - f(1));
    }
  }
}
