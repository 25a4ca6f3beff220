/**
 * Rare entities: a fresh classifier starts at the label prior of the training data (train-plan.ts
 * initPriorBias), and a trained one is left alone. The trainer's use of it: rare-cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { initPriorBias, labelCounts, priorBias, type Prepared } from '../../src/student/train-plan.js';
import type { ParamMap } from '../../src/student/types.js';

const labels = ['O', 'B-X', 'I-X'];
/** two examples: [CLS] O B-X I-X O [SEP] and [CLS] O O [SEP] (ignored positions are -100) */
const prepared = {
  sources: [],
  offsets: [0],
  examples: [
    { inputIds: new Int32Array(6), labels: Int32Array.from([-100, 0, 1, 2, 0, -100]) },
    { inputIds: new Int32Array(4), labels: Int32Array.from([-100, 0, 0, -100]) },
  ],
} as unknown as Prepared;

function paramsWithBias(bias: number[]): ParamMap {
  return new Map([['classifier.bias', { shape: [bias.length], data: Float32Array.from(bias) }]]);
}

describe('the label prior', () => {
  it('counts labelled sub-words only and smooths by one', () => {
    expect(Array.from(labelCounts(prepared.examples, 3))).toEqual([4, 1, 1]);
    const b = priorBias([4, 1, 1]);
    // log((c + 1) / (6 + 3)): softmax of the bias is the smoothed frequency
    expect(Array.from(b).map((x) => Math.exp(x))).toEqual([5 / 9, 2 / 9, 2 / 9].map((p) => expect.closeTo(p, 6)));
  });

  it('is set on a fresh (all-zero) classifier bias, with a note naming the O share', () => {
    const params = paramsWithBias([0, 0, 0]);
    const note = initPriorBias(params, prepared, labels);
    expect(note).toMatch(/label prior .*O 66\.7% of 6 labelled sub-words/);
    expect(Array.from(params.get('classifier.bias')!.data)).toEqual(
      [5 / 9, 2 / 9, 2 / 9].map((p) => expect.closeTo(Math.log(p), 6)),
    );
  });

  it('leaves a trained classifier (any non-zero bias) and a mismatched head alone', () => {
    const trained = paramsWithBias([0.3, 0, -0.1]);
    expect(initPriorBias(trained, prepared, labels)).toBeUndefined();
    expect(Array.from(trained.get('classifier.bias')!.data)).toEqual([0.3, 0, -0.1].map((x) => Math.fround(x)));
    expect(initPriorBias(paramsWithBias([0, 0]), prepared, labels)).toBeUndefined();
    expect(initPriorBias(new Map(), prepared, labels)).toBeUndefined();
  });
});
