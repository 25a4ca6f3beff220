/**
 * Micro-batching: concurrent requests are queued; the queue is flushed into one model call when it holds
 * `maxBatch` items or when its oldest item has waited `maxWaitMs`. At most `concurrency` model calls run at
 * once (one per model worker); while they run, new requests gather for the next call, which starts as soon
 * as a worker is free. Large requests are cut into chunks of at most `maxBatch`
 * items so one big request cannot hold many small ones back for long. Results fan back out in order.
 */
export interface BatcherOptions {
  /** most items (sentences or texts) in one model call */
  maxBatch: number;
  /** longest time the first queued item waits for company before the batch runs */
  maxWaitMs: number;
  /** most items waiting at once; beyond it `submit` rejects with BusyError (the server answers 503) */
  maxQueue: number;
  /** model calls that may run at once (default 1) */
  concurrency?: number;
}

export interface BatcherStats {
  requests: number;
  items: number;
  batches: number;
  /** items per batch: mean and largest */
  meanBatch: number;
  maxBatchSeen: number;
  /** milliseconds spent inside the model */
  modelMs: number;
  /** items waiting now */
  queued: number;
  failedBatches: number;
  rejectedBusy: number;
}

export class BusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}

interface Pending<I, O> {
  items: I[];
  results: O[];
  remainingChunks: number;
  failed: boolean;
  resolve: (out: O[]) => void;
  reject: (err: unknown) => void;
}

interface Chunk<I, O> {
  owner: Pending<I, O>;
  offset: number;
  items: I[];
  enqueuedAt: number;
}

export class MicroBatcher<I, O> {
  private readonly queue: Array<Chunk<I, O>> = [];
  private queuedItems = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly counts = { requests: 0, items: 0, batches: 0, maxBatchSeen: 0, modelMs: 0, failedBatches: 0, rejectedBusy: 0 };

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {
    if (!(options.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
    if (!(options.maxWaitMs >= 0)) throw new RangeError('maxWaitMs must be at least 0');
  }

  /** queue `items` (one request) and resolve with their results in the same order */
  submit(items: I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.queuedItems + items.length > this.options.maxQueue) {
      this.counts.rejectedBusy++;
      return Promise.reject(
        new BusyError(`server busy: ${this.queuedItems} items already queued (limit ${this.options.maxQueue}); retry shortly`),
      );
    }
    return new Promise<O[]>((resolve, reject) => {
      const { maxBatch } = this.options;
      const owner: Pending<I, O> = {
        items,
        results: new Array<O>(items.length),
        remainingChunks: Math.ceil(items.length / maxBatch),
        failed: false,
        resolve,
        reject,
      };
      const now = Date.now();
      for (let offset = 0; offset < items.length; offset += maxBatch) {
        this.queue.push({ owner, offset, items: items.slice(offset, offset + maxBatch), enqueuedAt: now });
      }
      this.queuedItems += items.length;
      this.counts.requests++;
      this.counts.items += items.length;
      this.schedule();
    });
  }

  stats(): BatcherStats {
    const c = this.counts;
    return {
      requests: c.requests,
      items: c.items,
      batches: c.batches,
      meanBatch: c.batches ? (c.items - this.queuedItems) / c.batches : 0,
      maxBatchSeen: c.maxBatchSeen,
      modelMs: Math.round(c.modelMs),
      queued: this.queuedItems,
      failedBatches: c.failedBatches,
      rejectedBusy: c.rejectedBusy,
    };
  }

  /** resolves when nothing is queued or running (for shutdown) */
  async drain(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private get idle(): boolean {
    return this.running < (this.options.concurrency ?? 1);
  }

  private schedule(): void {
    if (!this.idle || this.queue.length === 0) return;
    if (this.queuedItems >= this.options.maxBatch) {
      this.flush();
      return;
    }
    if (this.timer) return;
    const waited = Date.now() - this.queue[0]!.enqueuedAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, Math.max(0, this.options.maxWaitMs - waited));
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.idle || this.queue.length === 0) return;
    const batch: Array<Chunk<I, O>> = [];
    let size = 0;
    while (this.queue.length > 0 && size + this.queue[0]!.items.length <= this.options.maxBatch) {
      const chunk = this.queue.shift()!;
      batch.push(chunk);
      size += chunk.items.length;
    }
    this.queuedItems -= size;
    this.running++;
    this.counts.batches++;
    this.counts.maxBatchSeen = Math.max(this.counts.maxBatchSeen, size);
    const items = batch.flatMap((c) => c.items);
    const started = performance.now();
    void this.execute(items)
      .then(
        (outputs) => {
          let at = 0;
          for (const chunk of batch) {
            const { owner } = chunk;
            for (let i = 0; i < chunk.items.length; i++) owner.results[chunk.offset + i] = outputs[at++]!;
            if (--owner.remainingChunks === 0 && !owner.failed) owner.resolve(owner.results);
          }
        },
        (err: unknown) => {
          this.counts.failedBatches++;
          for (const chunk of batch) {
            const { owner } = chunk;
            owner.remainingChunks--;
            if (!owner.failed) {
              owner.failed = true;
              owner.reject(err);
            }
          }
          // drop the failed requests' other chunks still waiting
          for (let i = this.queue.length - 1; i >= 0; i--) {
            if (this.queue[i]!.owner.failed) {
              this.queuedItems -= this.queue[i]!.items.length;
              this.queue.splice(i, 1);
            }
          }
        },
      )
      .finally(() => {
        this.counts.modelMs += performance.now() - started;
        this.running--;
        // whatever arrived meanwhile has already waited: run it now rather than waiting again
        if (this.queue.length > 0) this.flush();
      });
    // a full batch still waiting and a worker free: start it too
    if (this.idle && this.queuedItems >= this.options.maxBatch) this.flush();
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
