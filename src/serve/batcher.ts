/**
 * The server's scheduler: fair, bounded micro-batching of requests onto the model workers.
 *
 * - Work is counted in (estimated) sub-word tokens, not items: admission refuses a request when the work
 *   already queued plus its own would pass `maxQueueTokens` (BusyError → 503 with Retry-After), so a
 *   queue of a few long texts is as bounded as a queue of many short ones. Requests bigger than one model
 *   call may fill only 80% of it: the last 20% is kept for small requests, which the round-robin then
 *   answers within a model call or two however many big ones wait. An empty queue admits any request.
 * - Fairness: each request is its own queue; a model call is filled round-robin, one item from each
 *   waiting request in turn, until the call holds `maxBatch` items or `maxBatchTokens` tokens (an item
 *   larger than that runs alone). A small request that arrives behind twenty 1 MB requests is in the next
 *   model call, not behind their 1,000 items.
 * - A request can be cancelled (its client went away) or pass its deadline: its items still queued are
 *   dropped at once; items already inside a model call finish (a call is bounded by `maxBatchTokens`)
 *   and their results are discarded.
 * - The model calls run `concurrency` at a time (one per model worker), plus one small call (items of
 *   at most `smallTokens`) beside each running call bigger than that: a worker interleaves its calls pass by pass (ONNX
 *   Runtime's node binding yields to the event loop before every forward pass), so a small request
 *   waits for one forward pass of a big call, not for all of it. The first queued item waits at
 *   most `maxWaitMs` for company when a worker is free; while every worker is busy, requests gather for
 *   the next call, which starts as soon as one frees.
 * - `close(timeoutMs)`: refuse new work, let queued work finish until the deadline, then fail the rest
 *   with ShutdownError.
 *
 * Results fan back out to each request in its own order. The model workers sort each call's items by
 * length into forward passes (length-bucketed), so a wide call costs little padding.
 */
import {
  type BatcherOptions,
  BusyError,
  CancelledError,
  DeadlineError,
  type Job,
  ShutdownError,
  type SubmitOptions,
  type BatcherStats,
} from './batcher-types.js';

const now = () => performance.now();

export class MicroBatcher<I, O> {
  /** requests with items not yet handed out, in round-robin order */
  private readonly waiting: Array<Job<I, O>> = [];
  /** every request not yet answered (waiting or inside a model call) */
  private readonly jobs = new Set<Job<I, O>>();
  private rr = 0;
  private queuedItems = 0;
  private queuedTokens = 0;
  private active = 0;
  private running = 0;
  /** small calls running in the extra slots, and main-lane calls bigger than `smallTokens` */
  private runningSmall = 0;
  private runningBig = 0;
  /** items inside running calls */
  private runningItems = 0;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private rate = 0;
  private readonly counts = {
    requests: 0,
    items: 0,
    answeredItems: 0,
    batches: 0,
    maxBatchSeen: 0,
    modelMs: 0,
    failedBatches: 0,
    rejectedBusy: 0,
    cancelled: 0,
    deadlineExceeded: 0,
  };
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {
    if (!(options.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
    if (!(options.maxBatchTokens >= 1)) throw new RangeError('maxBatchTokens must be at least 1');
    if (!(options.maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be at least 0');
  }

  /** queue `items` (one request) and resolve with their results in the same order */
  submit(items: I[], opts: SubmitOptions = {}): Promise<O[]> {
    if (this.closing) return Promise.reject(new ShutdownError('server is shutting down; retry on another instance'));
    if (items.length === 0) return Promise.resolve([]);
    const costs = opts.costs ?? items.map(() => 1);
    if (costs.length !== items.length) throw new RangeError('one cost per item');
    const total = costs.reduce((a, b) => a + b, 0);
    // an empty queue always admits (else a request larger than the whole budget could never run); a
    // request larger than one model call may fill only 80% of the budget, so small requests still get in
    if (!this.admits(total)) {
      this.counts.rejectedBusy++;
      return Promise.reject(
        new BusyError(
          `server busy: ${this.queuedTokens} tokens of work already queued, this request adds ${total} ` +
            `(limit ${this.options.maxQueueTokens}); retry shortly`,
          this.retryAfterS(),
        ),
      );
    }
    if (opts.signal?.aborted) return Promise.reject(new CancelledError('request cancelled before it was queued'));
    return new Promise<O[]>((resolve, reject) => {
      const job: Job<I, O> = {
        items,
        costs,
        results: new Array<O>(items.length),
        next: 0,
        answered: 0,
        queuedTokens: total,
        enqueuedAt: now(),
        settled: false,
        resolve,
        reject,
      };
      if (opts.deadlineMs !== undefined) {
        const ms = opts.deadlineMs;
        job.timer = setTimeout(() => {
          this.counts.deadlineExceeded++;
          this.fail(
            job,
            new DeadlineError(
              `request not answered within its deadline of ${ms} ms; the server is loaded, retry later`,
            ),
          );
        }, ms);
        job.timer.unref?.();
      }
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = () => {
          this.counts.cancelled++;
          this.fail(job, new CancelledError('request cancelled: the client went away'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.push(job);
      this.jobs.add(job);
      this.active++;
      this.queuedItems += items.length;
      this.queuedTokens += total;
      this.counts.requests++;
      this.counts.items += items.length;
      this.schedule();
    });
  }

  /** whether a request of `tokens` estimated tokens would be admitted now (false: BusyError) */
  admits(tokens: number): boolean {
    if (this.closing) return false;
    const cap = tokens > this.options.maxBatchTokens ? 0.8 * this.options.maxQueueTokens : this.options.maxQueueTokens;
    return this.queuedTokens === 0 || this.queuedTokens + tokens <= cap;
  }

  /** seconds a refused client should wait: the queued work at the measured rate, 1..60 */
  retryAfterS(): number {
    if (!(this.rate > 0)) return 1;
    return Math.min(60, Math.max(1, Math.ceil(this.queuedTokens / this.rate)));
  }

  stats(): BatcherStats {
    const c = this.counts;
    let oldest = Infinity;
    for (const j of this.jobs) oldest = Math.min(oldest, j.enqueuedAt);
    return {
      requests: c.requests,
      items: c.items,
      batches: c.batches,
      meanBatch: c.batches ? Math.round((c.answeredItems / c.batches) * 10) / 10 : 0,
      maxBatchSeen: c.maxBatchSeen,
      modelMs: Math.round(c.modelMs),
      activeRequests: this.active,
      queued: this.queuedItems,
      queuedTokens: this.queuedTokens,
      oldestQueuedMs: oldest === Infinity ? 0 : Math.round(now() - oldest),
      running: this.running,
      tokensPerSecond: Math.round(this.rate),
      failedBatches: c.failedBatches,
      rejectedBusy: c.rejectedBusy,
      cancelled: c.cancelled,
      deadlineExceeded: c.deadlineExceeded,
    };
  }

  /**
   * Stops admitting work (submit rejects with ShutdownError), waits for queued and running work up to
   * `timeoutMs`, then fails whatever is left with ShutdownError. Resolves true when everything finished.
   */
  async close(timeoutMs = Infinity): Promise<boolean> {
    this.closing = true;
    const idle = this.active === 0 && this.running === 0;
    if (idle) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((r) => this.idleWaiters.push(() => r(true))),
      new Promise<boolean>((r) => {
        if (Number.isFinite(timeoutMs)) timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      for (const job of [...this.jobs])
        this.fail(job, new ShutdownError('server shut down before this request was answered'));
    }
    return finished;
  }

  /** resolves when nothing is queued or running */
  drain(): Promise<boolean> {
    return this.close(Infinity);
  }

  /** a main-lane slot is free (small calls in the extra slots do not count) */
  private get idle(): boolean {
    return this.running - this.runningSmall < (this.options.concurrency ?? 1);
  }

  private fail(job: Job<I, O>, err: unknown): void {
    if (job.settled) return;
    this.dequeue(job);
    this.settle(job);
    job.reject(err);
  }

  /** drops a job's items still waiting */
  private dequeue(job: Job<I, O>): void {
    const at = this.waiting.indexOf(job);
    if (at < 0) return;
    this.waiting.splice(at, 1);
    if (at < this.rr) this.rr--;
    this.queuedItems -= job.items.length - job.next;
    this.queuedTokens -= job.queuedTokens;
    job.queuedTokens = 0;
    job.next = job.items.length;
  }

  private settle(job: Job<I, O>): void {
    job.settled = true;
    this.jobs.delete(job);
    clearTimeout(job.timer);
    job.unlisten?.();
    this.active--;
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.active === 0 && this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private schedule(): void {
    if (this.waiting.length === 0) return;
    if (!this.idle) {
      // every worker busy: beside each big call, a small request may go in an extra slot
      if (this.runningSmall >= this.runningBig || !this.smallWaiting) return;
    }
    if (this.queuedItems >= this.options.maxBatch || this.queuedTokens >= this.options.maxBatchTokens) {
      this.flush();
      return;
    }
    if (this.timer) return;
    let oldest = Infinity;
    for (const j of this.waiting) oldest = Math.min(oldest, j.enqueuedAt);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, this.options.maxWaitMs - (now() - oldest)),
    );
  }

  private get smallLimit(): number {
    return this.options.smallTokens ?? Math.max(1, Math.floor(this.options.maxBatchTokens / 8));
  }

  /** a waiting request whose next item is small (for the extra slots) */
  private get smallWaiting(): boolean {
    const limit = this.smallLimit;
    return this.waiting.some((j) => j.costs[j.next]! <= limit);
  }

  /**
   * Takes the next model call's items, one per waiting request in turn; `small`: only items of at most
   * `smallTokens`, from requests whose next item is that small, and at most `smallTokens` in all.
   */
  private take(small: boolean): Array<{ job: Job<I, O>; index: number }> {
    // with several workers, one call takes at most its share of the outstanding items: else the call
    // that starts when a worker frees takes nearly everything and the other workers idle beside it
    const workers = this.options.concurrency ?? 1;
    const share = Math.ceil((this.queuedItems + this.runningItems) / workers);
    const maxBatch = Math.max(1, Math.min(this.options.maxBatch, share));
    const maxTokens = small ? this.smallLimit : this.options.maxBatchTokens;
    const picked: Array<{ job: Job<I, O>; index: number }> = [];
    let tokens = 0;
    let skipped = 0;
    while (this.waiting.length > 0 && picked.length < maxBatch && skipped < this.waiting.length) {
      if (this.rr >= this.waiting.length) this.rr = 0;
      const job = this.waiting[this.rr]!;
      const cost = job.costs[job.next]!;
      if (small && cost > this.smallLimit) {
        // not this one's turn in the small lane; the rotation of the main lane is unchanged
        this.rr++;
        skipped++;
        continue;
      }
      if (picked.length > 0 && tokens + cost > maxTokens) break;
      skipped = 0;
      picked.push({ job, index: job.next });
      tokens += cost;
      job.next++;
      job.queuedTokens -= cost;
      this.queuedItems--;
      this.queuedTokens -= cost;
      if (job.next === job.items.length) this.waiting.splice(this.rr, 1);
      else this.rr++;
    }
    return picked;
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.waiting.length === 0) return;
    let small = false;
    if (!this.idle) {
      if (this.runningSmall >= this.runningBig || !this.smallWaiting) return;
      small = true;
    }
    const picked = this.take(small);
    if (picked.length === 0) return;
    const tokens = picked.reduce((s, p) => s + p.job.costs[p.index]!, 0);
    const bigCall = !small && tokens > this.smallLimit;
    this.running++;
    this.runningItems += picked.length;
    if (small) this.runningSmall++;
    if (bigCall) this.runningBig++;
    this.counts.batches++;
    this.counts.maxBatchSeen = Math.max(this.counts.maxBatchSeen, picked.length);
    const started = now();
    void this.execute(picked.map((p) => p.job.items[p.index]!))
      .then(
        (outputs) => {
          const seconds = (now() - started) / 1000;
          if (seconds > 0) {
            const r = tokens / seconds;
            this.rate = this.rate > 0 ? 0.8 * this.rate + 0.2 * r : r;
          }
          picked.forEach(({ job, index }, k) => {
            if (job.settled) return;
            job.results[index] = outputs[k]!;
            if (++job.answered === job.items.length) {
              this.settle(job);
              job.resolve(job.results);
            }
          });
        },
        (err: unknown) => {
          this.counts.failedBatches++;
          for (const { job } of picked) this.fail(job, err);
        },
      )
      .finally(() => {
        this.counts.modelMs += now() - started;
        this.counts.answeredItems += picked.length;
        this.running--;
        this.runningItems -= picked.length;
        if (small) this.runningSmall--;
        if (bigCall) this.runningBig--;
        this.checkIdle();
        // whatever arrived meanwhile has already waited: run it now rather than waiting again
        if (this.waiting.length > 0) this.flush();
      });
    // a full call's worth still waiting and a worker free: start it too
    if (this.idle && (this.queuedItems >= this.options.maxBatch || this.queuedTokens >= this.options.maxBatchTokens))
      this.flush();
    else this.schedule();
  }

  private async execute(items: I[]): Promise<O[]> {
    const outputs = await this.run(items);
    if (outputs.length !== items.length) {
      throw new Error(`model returned ${outputs.length} results for ${items.length} inputs`);
    }
    return outputs;
  }
}
