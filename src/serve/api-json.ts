/**
 * The API's answer for one sentence or text, built where the prediction is made: in the model worker,
 * which sends the server each result as its finished JSON text. The HTTP thread then only joins strings,
 * instead of receiving object graphs through structured clone and serialising them again.
 */
import type { PredictedEntity, SentencePrediction } from './predictor.js';

/** one entity in a response; `start`/`end` count tokens, `charStart`/`charEnd` count UTF-16 characters */
export interface ApiEntity {
  text: string;
  label: string;
  score: number;
  start: number;
  end: number;
  charStart?: number;
  charEnd?: number;
}

export interface ApiResult {
  tokens: string[];
  entities: ApiEntity[];
}

export function toApi(p: SentencePrediction): ApiResult {
  return {
    tokens: p.tokens,
    entities: p.entities.map((e: PredictedEntity) => {
      const out: ApiEntity = {
        text: e.text,
        label: e.label,
        score: Math.round(e.score * 1e4) / 1e4,
        start: e.start,
        end: e.end,
      };
      if (e.charStart !== undefined) out.charStart = e.charStart;
      if (e.charEnd !== undefined) out.charEnd = e.charEnd;
      return out;
    }),
  };
}

/** the JSON text of each prediction's API answer */
export function toApiJson(preds: readonly SentencePrediction[]): string[] {
  return preds.map((p) => JSON.stringify(toApi(p)));
}

export const EMPTY_RESULT_JSON = '{"tokens":[],"entities":[]}';
