/**
 * The job's ledger: tokens and money spent in this run, and the `maxCost` budget.
 *
 * Before a paid call its cost is estimated (prompt characters / 4, plus the completion tokens per sentence
 * learnt from answers so far, at most the token limit) and reserved; the call is refused — the task left
 * for a later run — when what is spent plus what is reserved plus this estimate would pass the budget.
 * After the call the reservation is released and the real usage is counted. Reasoning tokens are billed as
 * output (the provider counts them in completion tokens).
 *
 * A budget needs a price: with `maxCost` and no known price for the model the job refuses to start
 * (pricing.ts: unknownPriceHint) rather than count $0 and never stop.
 */
import type { ChatRequest, ChatResponse } from './providers/types.js';
import { costOf, type Price } from './pricing.js';
import { estimatePromptTokens } from './requests.js';

/** completion tokens expected per sentence before any answer is seen: reasoning + JSON */
export const PRIOR_COMPLETION_PER_SENTENCE = 90;

export interface LedgerStats {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

export class Ledger {
  private spent = 0;
  private reserved = 0;
  private seenCompletion = 0;
  private seenCompletionSentences = 0;
  /** a request was refused for the budget: no more are made */
  budgetHit = false;

  constructor(
    private readonly price: Price,
    private readonly maxCost: number | undefined,
    private readonly stats: LedgerStats,
  ) {}

  private completionPerSentence(): number {
    return this.seenCompletionSentences > 0
      ? this.seenCompletion / this.seenCompletionSentences
      : PRIOR_COMPLETION_PER_SENTENCE;
  }

  /** estimated USD of `request` about `n` sentences */
  estimate(request: ChatRequest, n: number): number {
    return costOf(
      {
        promptTokens: estimatePromptTokens(request.messages),
        completionTokens: Math.min(request.maxTokens, this.completionPerSentence() * n),
      },
      this.price,
    );
  }

  /** reserves `est` USD, or returns false (and stops further spending) when the budget would be passed */
  reserve(est: number): boolean {
    if (this.maxCost !== undefined && (this.budgetHit || this.spent + this.reserved + est > this.maxCost)) {
      this.budgetHit = true;
      return false;
    }
    this.reserved += est;
    return true;
  }

  release(est: number): void {
    this.reserved -= est;
  }

  /** counts a paid answer about `n` sentences */
  settle(r: ChatResponse, n: number): void {
    this.stats.promptTokens += r.usage.promptTokens;
    this.stats.completionTokens += r.usage.completionTokens;
    this.stats.reasoningTokens += r.usage.reasoningTokens ?? 0;
    this.spent += costOf(r.usage, this.price);
    this.stats.costUsd = this.spent;
    if (r.finishReason !== 'length') {
      this.seenCompletion += r.usage.completionTokens;
      this.seenCompletionSentences += n;
    }
  }
}
