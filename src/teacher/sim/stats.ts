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
