/**
 * The trainer's evaluations on dev (train.ts): conlleval scores of a predictor on gold sentences, the warning
 * when the student has collapsed to all-O (it predicts no entity although dev has some), and the one-line
 * message of an evaluation (train loss, dev P/R/F1, best, early stopping).
 */
import type { Sentence } from '../corpus/types.js';
import { formatNumber } from '../progress.js';
import { iob2Tags, scoreTagSequences } from '../score/score.js';
import type { Predictor } from './predict.js';
import type { DevScore, EvalRecord } from './train-types.js';

/** conlleval scores of a predictor on gold sentences */
export async function evaluate(predictor: Predictor, gold: readonly Sentence[]): Promise<DevScore> {
  const preds = await predictor.predictSentences(gold.map((s) => s.tokens));
  const r = scoreTagSequences(
    gold.map((s) => iob2Tags(s)),
    preds.map((p) => p.tags),
  );
  const types: DevScore['types'] = {};
  for (const [k, v] of Object.entries(r.types)) {
    types[k] = { precision: v.precision, recall: v.recall, f1: v.f1, gold: v.gold, found: v.found, correct: v.correct };
  }
  return { precision: r.precision, recall: r.recall, f1: r.f1, types };
}

/**
 * the all-O collapse warning for dev scores at `step`, or undefined when the student found entities (or dev has
 * none). The trainer asks only past the middle of a run: before that, an all-O student is often still on its
 * way (on WNUT-17, students from fresh weights predicted no entity after their first epoch and found some from
 * epoch 2 of 3 or 3–4 of 10 on).
 */
export function collapseWarning(dev: DevScore, step: number): string | undefined {
  const gold = Object.values(dev.types).reduce((n, t) => n + t.gold, 0);
  const found = Object.values(dev.types).reduce((n, t) => n + t.found, 0);
  if (!(gold > 0 && found === 0)) return undefined;
  return (
    `warning: at step ${step} the student predicts no entity on dev (${gold} gold entities, 0 found, F1 0.00): ` +
    'it has collapsed to all-O, as students do when entities are rare; train longer, raise --entity-weight (e.g. 3), or add data with entities'
  );
}

/** the log line of an evaluation */
export function evalLine(rec: EvalRecord, totalSteps: number, stoppedEarly: boolean, patience?: number): string {
  return (
    `step ${rec.step}/${totalSteps} epoch ${rec.epoch}: train loss ${formatNumber(rec.trainLoss)}` +
    (rec.dev
      ? ` | dev P ${(100 * rec.dev.precision).toFixed(2)} R ${(100 * rec.dev.recall).toFixed(2)} F1 ${(100 * rec.dev.f1).toFixed(2)}${rec.best ? ' (best)' : ''}`
      : '') +
    (stoppedEarly ? ` | no better dev F1 in ${patience} evaluations: stopping` : '')
  );
}
