/**
 * What the server needs from a model: entity spans with scores for pre-tokenised sentences or raw texts.
 *
 * Offsets: `start`/`end` are TOKEN offsets (end exclusive) into `tokens`; `charStart`/`charEnd` are
 * CHARACTER offsets (UTF-16 code units, end exclusive) into the input text, present only for texts.
 * The student's `Predictor` (src/student/predict.ts) is adapted to this interface by `loadPredictor`.
 */
export interface PredictedEntity {
  start: number;
  end: number;
  label: string;
  /** model confidence in [0, 1] (mean softmax probability of the entity's word labels) */
  score: number;
  /** the entity's surface text: tokens joined by spaces, or the exact substring of the input text */
  text: string;
  charStart?: number;
  charEnd?: number;
}

export interface SentencePrediction {
  tokens: string[];
  /** character offsets of each token into the input text (texts only) */
  tokenOffsets?: Array<[number, number]>;
  entities: PredictedEntity[];
}

export interface Predictor {
  /** entity types the model knows, e.g. ["LOC", "MISC", "ORG", "PER"] */
  readonly types: string[];
  /** a short description for /health: folder, labels, sizes */
  readonly info: Record<string, unknown>;
  predictSentences(sentences: string[][]): Promise<SentencePrediction[]>;
  predictTexts(texts: string[]): Promise<SentencePrediction[]>;
  /** the same predictions as their API JSON texts (api-json.ts), made where the model runs; optional */
  predictJson?(kind: 'texts' | 'sentences', items: unknown[]): Promise<string[]>;
  close?(): Promise<void> | void;
  /** why the model can no longer answer (e.g. its worker died); undefined while it is fine */
  failure?(): string | undefined;
}
