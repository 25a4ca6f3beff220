/**
 * teacher-sim's counters: the kinds of fault the noise model injects (content, format, id and HTTP noise),
 * as counted in the stats served at GET /stats.
 */

/** Counters of everything the noise model did (see SimStats.faults). */
export const FAULT_KINDS = [
  'missed',
  'wrong_type',
  'boundary',
  'rephrased',
  'article',
  'edge_punctuation',
  'hallucinated',
  'false_positive',
  'dropped_sentence',
  'invalid_json',
  'truncated_json',
  'trailing_comma',
  'prose_after_json',
  'length_cutoff',
  'max_tokens_cutoff',
  'zero_based_ids',
  'duplicate_id',
  'missing_id',
  'rate_limit',
  'server_error',
  'slow',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultCounter = (kind: FaultKind) => void;

export interface SimStats {
  /** HTTP requests to /v1/chat/completions, including faulted ones */
  requests: number;
  /** 200 answers given */
  answers: number;
  /** sentences answered (a batched answer counts each) */
  sentencesAnswered: number;
  /** answers per gold sentence index (how often each sentence was asked) */
  sentenceRequests: Record<string, number>;
  /** requests in which no sentence of the gold corpus was found */
  unknownRequests: number;
  /** structured-output (json_schema) answers among `answers` */
  structuredAnswers: number;
  /** faults injected, by kind (content noise is counted on every answer, retries included) */
  faults: Record<FaultKind, number>;
  /** responses by HTTP status */
  statuses: Record<string, number>;
  /** requests refused for a parameter the profile does not take (400, unpaid) */
  refusedParams: number;
  /** 200 answers that were billed (usage reported or not): what the client paid for */
  paidAnswers: number;
  /** reasoning tokens reported (reasoning profile) */
  reasoningTokens: number;
  promptTokens: number;
  completionTokens: number;
}

/** all counters at zero */
export function newStats(): SimStats {
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  return {
    requests: 0,
    answers: 0,
    sentencesAnswered: 0,
    sentenceRequests: {},
    unknownRequests: 0,
    structuredAnswers: 0,
    faults,
    statuses: {},
    refusedParams: 0,
    paidAnswers: 0,
    reasoningTokens: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
}
