/**
 * The job's work pool: `concurrency` workers take tasks from a queue; when it runs dry they read more
 * sentences from the input, but only while fewer than `window` sentences are open (read and not yet
 * written out). Memory is therefore bounded by the work in flight, not by the size of the input.
 *
 * Follow-up tasks (re-asks, sentences split out of a batch) go to the front of the queue: they finish
 * sentences already started, which lets the in-order output move on.
 */
export interface PoolOptions<T> {
  concurrency: number;
  /** the most sentences open at once */
  window: number;
  /** sentences open now */
  open: () => number;
  /** reads the next batch of work from the input; resolves to [] at its end */
  feed: () => Promise<T[]>;
  run: (task: T) => Promise<void>;
  /** stop taking new work (a budget stop, a cancel, a fatal error) */
  stopped: () => boolean;
  signal?: AbortSignal;
}

export class WorkPool<T> {
  private readonly queue: T[] = [];
  private active = 0;
  private inputDone = false;
  private feeding?: Promise<void>;
  /** workers waiting for work; woken whenever a task ends or new tasks arrive */
  private readonly wakers: Array<() => void> = [];

  constructor(private readonly o: PoolOptions<T>) {}

  /** follow-ups first */
  push(tasks: T[]): void {
    this.queue.unshift(...tasks);
    this.wakeAll();
  }

  /** whether the input was read to its end */
  get exhausted(): boolean {
    return this.inputDone;
  }

  private wakeAll(): void {
    for (const f of this.wakers.splice(0)) f();
  }

  private async feedMore(): Promise<void> {
    this.feeding ??= (async () => {
      try {
        const tasks = await this.o.feed();
        if (tasks.length === 0) this.inputDone = true;
        this.queue.push(...tasks);
      } finally {
        this.feeding = undefined;
        this.wakeAll();
      }
    })();
    return this.feeding;
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.o.stopped()) return;
      const task = this.queue.shift();
      if (task === undefined) {
        if (!this.inputDone && this.o.open() < this.o.window) {
          await this.feedMore();
          continue;
        }
        if (this.active === 0 && !this.feeding && (this.inputDone || this.o.open() >= this.o.window)) {
          // nothing in flight can bring more work: done (or stuck, which `open` >= window with no active
          // task cannot be, since every open sentence has a task queued or running)
          this.wakeAll();
          return;
        }
        await new Promise<void>((r) => this.wakers.push(r));
        continue;
      }
      this.active++;
      try {
        await this.o.run(task);
      } finally {
        this.active--;
        this.wakeAll();
      }
    }
  }

  async run(): Promise<void> {
    const onAbort = () => this.wakeAll();
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(Array.from({ length: this.o.concurrency }, () => this.worker()));
    } finally {
      this.o.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** wakes waiting workers so that they see a stop */
  stop(): void {
    this.wakeAll();
  }
}
