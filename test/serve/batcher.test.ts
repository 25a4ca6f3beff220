import { describe, expect, it } from 'vitest';
import { BusyError, MicroBatcher } from '../../src/serve/batcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a model stand-in that records the batches it was called with and answers item → item * 10 */
function recorder(delayMs = 5) {
  const calls: number[][] = [];
  const run = async (items: number[]) => {
    calls.push([...items]);
    await sleep(delayMs);
    return items.map((x) => x * 10);
  };
  return { calls, run };
}

describe('MicroBatcher', () => {
  it('gathers concurrent requests into one call and fans results back out in order', async () => {
    const { calls, run } = recorder();
    const b = new MicroBatcher(run, { maxBatch: 64, maxWaitMs: 20, maxQueue: 1000 });
    const out = await Promise.all([b.submit([1, 2]), b.submit([3]), b.submit([4, 5, 6])]);
    expect(out).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(calls).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(b.stats()).toMatchObject({ requests: 3, items: 6, batches: 1, meanBatch: 6, maxBatchSeen: 6, queued: 0 });
  });

  it('runs at once when a batch is full, cuts big requests into chunks, and batches what arrives meanwhile', async () => {
    const { calls, run } = recorder(20);
    const b = new MicroBatcher(run, { maxBatch: 4, maxWaitMs: 1000, maxQueue: 1000 });
    const t0 = Date.now();
    const big = b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await sleep(5);
    const small = b.submit([11]);
    expect(await big).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(await small).toEqual([110]);
    // never waited for the 1 s timer: full batches ran at once, the rest right after the previous call
    expect(Date.now() - t0).toBeLessThan(900);
    expect(calls).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]);
  });

  it('runs one call at a time', async () => {
    let running = 0;
    let most = 0;
    const b = new MicroBatcher(
      async (items: number[]) => {
        most = Math.max(most, ++running);
        await sleep(5);
        running--;
        return items;
      },
      { maxBatch: 2, maxWaitMs: 0, maxQueue: 1000 },
    );
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit([i])));
    expect(most).toBe(1);
    expect(b.stats().batches).toBe(10);
  });

  it('fails every request of a failed call (and drops their other chunks), then carries on', async () => {
    let n = 0;
    const b = new MicroBatcher(
      async (items: number[]) => {
        if (n++ === 0) throw new Error('model exploded');
        return items;
      },
      { maxBatch: 2, maxWaitMs: 0, maxQueue: 1000 },
    );
    const first = b.submit([1, 2, 3, 4]);
    await expect(first).rejects.toThrow('model exploded');
    await expect(b.submit([5])).resolves.toEqual([5]);
    expect(b.stats()).toMatchObject({ failedBatches: 1, queued: 0, batches: 2 });
  });

  it('refuses work beyond maxQueue with BusyError and checks the model answered every item', async () => {
    const b = new MicroBatcher(async (items: number[]) => items, { maxBatch: 8, maxWaitMs: 50, maxQueue: 3 });
    const a = b.submit([1, 2]);
    await expect(b.submit([3, 4])).rejects.toBeInstanceOf(BusyError);
    await expect(a).resolves.toEqual([1, 2]);
    expect(b.stats().rejectedBusy).toBe(1);
    const short = new MicroBatcher(async (items: number[]) => items.slice(1), { maxBatch: 8, maxWaitMs: 0, maxQueue: 10 });
    await expect(short.submit([1, 2])).rejects.toThrow(/returned 1 results for 2 inputs/);
    await expect(b.submit([])).resolves.toEqual([]);
  });

  it('runs up to `concurrency` calls at once, one per worker', async () => {
    let running = 0;
    let most = 0;
    const b = new MicroBatcher(
      async (items: number[]) => {
        most = Math.max(most, ++running);
        await sleep(10);
        running--;
        return items;
      },
      { maxBatch: 2, maxWaitMs: 0, maxQueue: 1000, concurrency: 2 },
    );
    const out = await Promise.all(Array.from({ length: 12 }, (_, i) => b.submit([i])));
    expect(out.flat()).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(most).toBe(2);
  });
});
