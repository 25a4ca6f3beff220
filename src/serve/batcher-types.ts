/**
 * The micro-batcher's interface types (batcher.ts): its options (batch size and tokens, wait, queue bound,
 * concurrency, the small-call lane), the stats it reports, the per-request submit options (costs, deadline,
 * abort signal), the errors a request can fail with (BusyError, DeadlineError, CancelledError,
 * ShutdownError; the server maps each to an HTTP status), and the internal record of one queued request.
 */
export interface BatcherOptions {
  /** most items (sentences or texts) in one model call */
  maxBatch: number;
  /** most estimated tokens in one model call (a single larger item runs alone) */
  maxBatchTokens: number;
  /** longest time the first queued item waits for company before the call runs */
  maxWaitMs: number;
  /** most estimated tokens waiting at once; beyond it `submit` rejects with BusyError (the server answers 503) */
  maxQueueTokens: number;
  /** model calls that may run at once (default 1): one per model worker */
  concurrency?: number;
  /**
   * Small calls (every item at most this many estimated tokens, `maxBatchTokens / 8` by default) may run
   * beside running calls bigger than that, one beside each: a worker interleaves concurrent calls forward
   * pass by forward pass, so a small request waits for one pass of a big call, not for the whole call.
   */
  smallTokens?: number;
}

export interface BatcherStats {
  requests: number;
  items: number;
  batches: number;
  /** items per model call: mean and largest */
  meanBatch: number;
  maxBatchSeen: number;
  /** milliseconds spent inside model calls (summed over workers) */
  modelMs: number;
  /** requests with work still queued or running, and the items and estimated tokens they have waiting */
  activeRequests: number;
  queued: number;
  queuedTokens: number;
  /** how long the oldest unanswered request has waited, in milliseconds (0 when none) */
  oldestQueuedMs: number;
  /** model calls running now */
  running: number;
  /** estimated tokens per second of model work, recent average (0 until measured) */
  tokensPerSecond: number;
  failedBatches: number;
  rejectedBusy: number;
  cancelled: number;
  deadlineExceeded: number;
}

export class ServeError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** the queue is full: retry after `retryAfterS` seconds */
export class BusyError extends ServeError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('BusyError', message);
  }
}
export class DeadlineError extends ServeError {
  constructor(message: string) {
    super('DeadlineError', message);
  }
}
export class CancelledError extends ServeError {
  constructor(message: string) {
    super('CancelledError', message);
  }
}
export class ShutdownError extends ServeError {
  constructor(message: string) {
    super('ShutdownError', message);
  }
}

export interface SubmitOptions {
  /** estimated tokens of each item (default 1 each) */
  costs?: number[];
  /** milliseconds from now after which the request fails with DeadlineError */
  deadlineMs?: number;
  /** aborting it cancels the request (CancelledError) */
  signal?: AbortSignal;
}

export interface Job<I, O> {
  items: I[];
  costs: number[];
  results: O[];
  /** next item to hand to a model call */
  next: number;
  /** items answered so far */
  answered: number;
  /** estimated tokens of the items not yet handed out */
  queuedTokens: number;
  enqueuedAt: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
  unlisten?: () => void;
  resolve: (out: O[]) => void;
  reject: (err: unknown) => void;
}
