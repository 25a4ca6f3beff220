/**
 * `pretrain`'s record of what it learnt and what it cost: the loss curve (a point every `logEvery` steps),
 * the CPU seconds of the run (summed over resumed segments), and the held-out loss of sub-word frequencies
 * alone (the unigram baseline a masked LM must beat to be using the context).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import type { EncodedWindow } from '../../src/student/align.js';
import { pretrain, unigramLoss, type PretrainOptions } from '../../src/student/pretrain.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const VOCAB = path.join(DATA, 'vocab/bert-base-cased-vocab.txt');
const sentences = readCorpus(path.join(DATA, 'conll2003/train.txt')).corpus.sentences.slice(0, 24);
const text = sentences.map((s) => s.tokens);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-pretrain-curve-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const win = (ids: number[]): EncodedWindow =>
  ({
    inputIds: Int32Array.from(ids),
    wordAt: Int32Array.from(ids.map((_, i) => (i === 0 || i === ids.length - 1 ? -1 : i - 1))),
  }) as unknown as EncodedWindow;

const base = (out: string): PretrainOptions => ({
  out,
  text: text.slice(0, 16),
  dev: text.slice(16),
  model: 'tiny',
  vocab: VOCAB,
  epochs: 2,
  lr: 2e-3,
  batchSize: 8,
  maxSeq: 32,
  seed: 3,
  logEvery: 1,
  saveEvery: 1000,
  progress: false,
  log: () => {},
});

describe('pretrain: loss curve, CPU time, unigram baseline', () => {
  it('the unigram baseline is the cross-entropy of the masked tokens under add-one-smoothed frequencies', () => {
    // train sub-words (without [CLS]/[SEP]): 5, 5, 6 → p(5) = (2 + 1) / (3 + 10); the one dev word (5) is masked
    const masking = { maskId: 9, vocabSize: 10, seed: 1 };
    const loss = unigramLoss([win([1, 5, 5, 6, 2])], [win([1, 5, 2])], masking, 0);
    expect(loss).toBeCloseTo(-Math.log(3 / 13), 12);
    // a word never seen in training costs more than a frequent one
    expect(unigramLoss([win([1, 5, 5, 6, 2])], [win([1, 7, 2])], masking, 0)).toBeCloseTo(-Math.log(1 / 13), 12);
  });

  it('records a curve point per logEvery steps and CPU seconds that add up across a resume', async () => {
    const lines: string[] = [];
    const a = await pretrain({ ...base(path.join(tmp, 'a')), log: (l) => lines.push(l) });
    expect(a.curve.map((p) => p.step)).toEqual(Array.from({ length: a.totalSteps }, (_, i) => i + 1));
    expect(a.curve.every((p) => Number.isFinite(p.loss) && p.cpuS > 0)).toBe(true);
    for (let i = 1; i < a.curve.length; i++) expect(a.curve[i]!.cpuS).toBeGreaterThanOrEqual(a.curve[i - 1]!.cpuS);
    expect(a.cpuS).toBeGreaterThanOrEqual(a.curve[a.curve.length - 1]!.cpuS);
    expect(a.history.every((h) => (h.cpuS ?? 0) > 0)).toBe(true);
    expect(a.unigramDevLoss).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/unigram baseline\): \d/);
    expect(lines.join('\n')).toMatch(/step 1\/\d+: masked-LM loss .* CPU-min/);
    const saved = JSON.parse(readFileSync(path.join(a.out, 'curve.json'), 'utf8'));
    expect(saved.curve).toHaveLength(a.totalSteps);
    expect(saved.unigramDevLoss).toBeCloseTo(a.unigramDevLoss!, 10);

    const outB = path.join(tmp, 'b');
    const b1 = await pretrain({ ...base(outB), stopAfter: 2 });
    const b2 = await pretrain({ ...base(outB), resume: true });
    expect(b2.curve.map((p) => p.step)).toEqual(a.curve.map((p) => p.step));
    expect(b2.curve.map((p) => p.loss)).toEqual(a.curve.map((p) => p.loss));
    expect(b2.cpuS).toBeGreaterThan(b1.cpuS);
    expect(b2.curve[1]!.cpuS).toBeLessThanOrEqual(b1.cpuS); // the first segment's points keep their CPU time
  }, 300_000);
});
