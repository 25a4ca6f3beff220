import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../src/serve/batcher.js';
import { BusyError, CancelledError, DeadlineError, ShutdownError } from '../../src/serve/batcher-types.js';

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
    const b = new MicroBatcher(run, { maxBatch: 64, maxWaitMs: 20, maxBatchTokens: 1e9, maxQueueTokens: 1000 });
    const out = await Promise.all([b.submit([1, 2]), b.submit([3]), b.submit([4, 5, 6])]);
    expect(out).toEqual([[10, 20], [30], [40, 50, 60]]);
    // one call, filled round-robin: one item of each request in turn
    expect(calls).toEqual([[1, 3, 4, 2, 5, 6]]);
    expect(b.stats()).toMatchObject({ requests: 3, items: 6, batches: 1, meanBatch: 6, maxBatchSeen: 6, queued: 0 });
  });

  it('runs at once when a batch is full, cuts big requests into chunks, and batches what arrives meanwhile', async () => {
    const { calls, run } = recorder(20);
    const b = new MicroBatcher(run, { maxBatch: 4, maxWaitMs: 1000, maxBatchTokens: 1e9, maxQueueTokens: 1000 });
    const t0 = Date.now();
    const big = b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await sleep(5);
    const small = b.submit([11]);
    expect(await big).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(await small).toEqual([110]);
    // never waited for the 1 s timer: full batches ran at once, the rest right after the previous call
    expect(Date.now() - t0).toBeLessThan(900);
    // the small request took its turn in the second call: the rotation had passed the big request
    expect(calls).toEqual([
      [1, 2, 3, 4],
      [11, 5, 6, 7],
      [8, 9, 10],
    ]);
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
      { maxBatch: 2, maxWaitMs: 0, maxBatchTokens: 1e9, maxQueueTokens: 1000 },
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
      { maxBatch: 2, maxWaitMs: 0, maxBatchTokens: 1e9, maxQueueTokens: 1000 },
    );
    const first = b.submit([1, 2, 3, 4]);
    await expect(first).rejects.toThrow('model exploded');
    await expect(b.submit([5])).resolves.toEqual([5]);
    expect(b.stats()).toMatchObject({ failedBatches: 1, queued: 0, batches: 2 });
  });

  it('refuses work beyond maxQueue with BusyError and checks the model answered every item', async () => {
    const b = new MicroBatcher(async (items: number[]) => items, {
      maxBatch: 8,
      maxWaitMs: 50,
      maxBatchTokens: 1e9,
      maxQueueTokens: 3,
    });
    const a = b.submit([1, 2]);
    await expect(b.submit([3, 4])).rejects.toBeInstanceOf(BusyError);
    await expect(a).resolves.toEqual([1, 2]);
    expect(b.stats().rejectedBusy).toBe(1);
    const short = new MicroBatcher(async (items: number[]) => items.slice(1), {
      maxBatch: 8,
      maxWaitMs: 0,
      maxBatchTokens: 1e9,
      maxQueueTokens: 10,
    });
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
      { maxBatch: 2, maxWaitMs: 0, maxBatchTokens: 1e9, maxQueueTokens: 1000, concurrency: 2 },
    );
    const out = await Promise.all(Array.from({ length: 12 }, (_, i) => b.submit([i])));
    expect(out.flat()).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(most).toBe(2);
  });

  it('fills a model call round-robin between requests, not first-come items', async () => {
    const { calls, run } = recorder(20);
    const b = new MicroBatcher(run, { maxBatch: 4, maxBatchTokens: 1e9, maxWaitMs: 0, maxQueueTokens: 1000 });
    const first = b.submit([1]);
    await sleep(1); // `first` now runs alone, so the rest queue behind it
    const big = b.submit([100, 101, 102, 103, 104, 105, 106, 107]);
    const other = b.submit([200, 201, 202, 203]);
    const small = b.submit([300]);
    await Promise.all([first, big, other, small]);
    // the second call takes one item of each waiting request in turn, then goes round again
    expect(calls[1]).toEqual([100, 200, 300, 101]);
    // the small request was answered by the second call, long before the big one
    expect(calls.findIndex((c) => c.includes(300))).toBe(1);
  });

  it('bounds a model call by tokens: an item over the budget runs alone, admission counts tokens', async () => {
    const { calls, run } = recorder(5);
    const b = new MicroBatcher(run, { maxBatch: 64, maxBatchTokens: 100, maxWaitMs: 0, maxQueueTokens: 250 });
    const first = b.submit([1]);
    await sleep(1);
    const a = b.submit([2, 3, 4], { costs: [60, 30, 500] });
    await expect(b.submit([5], { costs: [1000] })).rejects.toBeInstanceOf(BusyError);
    await Promise.all([first, a]);
    expect(calls).toEqual([[1], [2, 3], [4]]);
    expect(b.stats()).toMatchObject({ queuedTokens: 0, rejectedBusy: 1 });
    // an empty queue admits even a request larger than the whole budget
    await expect(b.submit([6], { costs: [1000] })).resolves.toEqual([60]);
  });

  it('drops the queued work of a cancelled request and of one past its deadline', async () => {
    const { calls, run } = recorder(30);
    const b = new MicroBatcher(run, { maxBatch: 1, maxBatchTokens: 1e9, maxWaitMs: 0, maxQueueTokens: 1000 });
    const gone = new AbortController();
    const first = b.submit([1]);
    const cancelled = b.submit([2, 3, 4, 5], { signal: gone.signal });
    const late = b.submit([6, 7, 8, 9], { deadlineMs: 10 });
    gone.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await expect(late).rejects.toBeInstanceOf(DeadlineError);
    await first;
    await b.drain();
    // neither request's queued items ever reached the model (item 2 or 6 at most was already running)
    expect(calls.flat().filter((x) => x !== 1 && x !== 2 && x !== 6)).toEqual([]);
    expect(b.stats()).toMatchObject({
      cancelled: 1,
      deadlineExceeded: 1,
      queued: 0,
      queuedTokens: 0,
      activeRequests: 0,
    });
  });

  it('close(): refuses new work, finishes queued work within the deadline, fails the rest', async () => {
    const { run } = recorder(50);
    const b = new MicroBatcher(run, { maxBatch: 1, maxBatchTokens: 1e9, maxWaitMs: 0, maxQueueTokens: 1000 });
    const quick = b.submit([1]);
    const slow = b.submit([2, 3, 4, 5, 6, 7, 8, 9]);
    const closing = b.close(80);
    await expect(b.submit([10])).rejects.toBeInstanceOf(ShutdownError);
    await expect(quick).resolves.toEqual([10]);
    await expect(slow).rejects.toBeInstanceOf(ShutdownError);
    expect(await closing).toBe(false);
    const idle = new MicroBatcher(run, { maxBatch: 1, maxBatchTokens: 1e9, maxWaitMs: 0, maxQueueTokens: 1000 });
    expect(await idle.close(10)).toBe(true);
  });

  it("runs a small call beside a busy worker's big call (the extra small lane)", async () => {
    const calls: number[][] = [];
    let most = 0;
    let running = 0;
    const b = new MicroBatcher(
      async (items: number[]) => {
        calls.push(items);
        most = Math.max(most, ++running);
        await sleep(items[0]! >= 100 ? 200 : 5);
        running--;
        return items;
      },
      { maxBatch: 8, maxBatchTokens: 800, maxWaitMs: 0, maxQueueTokens: 1e6, concurrency: 1 },
    );
    const big = b.submit([100, 101, 102], { costs: [700, 700, 700] });
    await sleep(20);
    const t0 = Date.now();
    const small = await b.submit([1], { costs: [10] });
    expect(Date.now() - t0).toBeLessThan(150); // not behind the 200 ms big call
    expect(small).toEqual([1]);
    await big;
    expect(most).toBe(2);
    // a big item never takes the small lane
    expect(calls).toEqual([[100], [1], [101], [102]]);
  });
});
