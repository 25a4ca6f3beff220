import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatDuration, formatNumber } from '../../src/progress.js';

describe('progress bar (src/progress.ts)', () => {
  it('formats durations and numbers compactly', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatNumber(12345)).toBe('12.3k');
    expect(formatNumber(0.41234)).toBe('0.412');
    expect(formatNumber(3)).toBe('3');
  });

  it('computes rate and ETA from a sliding window and shows extra fields', () => {
    let t = 0;
    const p = new Progress(100, { enabled: false, unit: 'steps', label: 'train', now: () => t, rateWindowMs: 10_000 });
    t = 1000;
    p.update(10, { loss: 0.5 });
    t = 2000;
    p.update(20, { loss: 0.4, $: 0.0123 });
    const s = p.snapshot();
    expect(s.rate).toBeCloseTo(10);
    expect(s.etaS).toBeCloseTo(8);
    const line = p.render();
    expect(line).toContain('20/100 steps');
    expect(line).toContain('ETA 8s');
    expect(line).toContain('loss 0.400');
    expect(line).toContain('$0.0123');
    // a resumed count does not count toward the rate
    p.resumeAt(50);
    expect(p.snapshot().rate).toBe(0);
    t = 3000;
    p.update(55);
    expect(p.snapshot().rate).toBeCloseTo(5);
    p.stop();
  });

  it('writes log lines to a non-terminal stream', () => {
    let out = '';
    const stream = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    });
    const p = new Progress(3, { stream: stream as unknown as NodeJS.WritableStream, label: 'x', unit: 'items' });
    p.tick();
    p.log('epoch 1 done');
    p.tick(2);
    p.stop();
    expect(out).toContain('epoch 1 done');
    expect(out).toContain('3/3 items');
  });
});
