/**
 * The trainer on real data: a tiny BERT from fresh weights on a few hundred CoNLL-2003 sentences learns
 * (loss falls, dev F1 clears a loose bound), writes a shippable checkpoint, and keeps its bookkeeping.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { Predictor } from '../../src/student/predict.js';
import { train } from '../../src/student/train.js';
import { evaluate } from '../../src/student/train-eval.js';
import { labelSetOf, wordLabels } from '../../src/student/train-plan.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const VOCAB = path.join(DATA, 'vocab/bert-base-cased-vocab.txt');
const trainAll = readCorpus(path.join(DATA, 'conll2003/train.txt')).corpus.sentences;
const devAll = readCorpus(path.join(DATA, 'conll2003/dev.txt')).corpus.sentences;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('labels', () => {
  it('are O first, then B-/I- per type in sorted order', () => {
    expect(labelSetOf(trainAll.slice(0, 200))).toEqual([
      'O',
      'B-LOC',
      'I-LOC',
      'B-MISC',
      'I-MISC',
      'B-ORG',
      'I-ORG',
      'B-PER',
      'I-PER',
    ]);
  });

  it('carry span confidence as word weights', () => {
    const s = {
      tokens: ['Ann', 'Lee', 'met', 'Bo'],
      spans: [
        { start: 0, end: 2, label: 'PER', confidence: 0.5 },
        { start: 3, end: 4, label: 'PER' },
      ],
    };
    const l2i = new Map(['O', 'B-PER', 'I-PER'].map((l, i) => [l, i]));
    const { ids, weights } = wordLabels(s, l2i);
    expect(Array.from(ids)).toEqual([1, 2, 0, 1]);
    expect(Array.from(weights!)).toEqual([0.5, 0.5, 1, 1]);
  });
});

describe('train (tiny preset, real CoNLL-2003 subset)', () => {
  it('learns: loss falls, dev F1 beats a loose bound, best/ is a loadable checkpoint', async () => {
    const out = path.join(tmp, 'learn');
    const dev = devAll.slice(0, 200);
    const result = await train({
      out,
      train: trainAll.slice(0, 500),
      dev,
      model: 'tiny',
      vocab: VOCAB,
      epochs: 4,
      lr: 3e-3,
      batchSize: 16,
      maxSeq: 64,
      seed: 7,
      progress: false,
      log: () => {},
    });
    expect(result.interrupted).toBe(false);
    expect(result.steps).toBe(result.totalSteps);
    expect(result.history).toHaveLength(4);
    const losses = result.history.map((h) => h.trainLoss);
    expect(losses[3]!).toBeLessThan(losses[0]! * 0.75);
    // an untrained tagger scores ~0; a few hundred steps from fresh weights get clearly above chance
    expect(result.bestF1!).toBeGreaterThan(0.2);
    for (const f of [
      'config.json',
      'model.safetensors',
      'vocab.txt',
      'tokenizer.json',
      'onnx/model.onnx',
      'eval.json',
    ]) {
      expect(existsSync(path.join(result.bestDir, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(path.join(result.bestDir, 'config.json'), 'utf8'));
    expect(config.id2label['0']).toBe('O');
    // positions past the training window are untrained: the checkpoint says so to its users
    const tokConfig = JSON.parse(readFileSync(path.join(result.bestDir, 'tokenizer_config.json'), 'utf8'));
    expect(tokConfig.model_max_length).toBe(64);
    // the exported ONNX model scores exactly what the trainer measured on dev
    const predictor = await Predictor.load(result.bestDir);
    const score = await evaluate(predictor, dev);
    await predictor.close();
    expect(score.f1).toBeCloseTo(result.bestF1!, 3);
    expect(JSON.parse(readFileSync(path.join(out, 'history.json'), 'utf8'))).toHaveLength(4);
  }, 600_000);

  it('trains on named sources with a caller plan; source and plan weights scale the loss', async () => {
    const human = trainAll.slice(0, 12);
    const teacher = trainAll
      .slice(12, 24)
      .map((x) => ({ ...x, spans: x.spans.map((sp) => ({ ...sp, confidence: 0.5 })) }));
    let seen: { lengths: Record<string, number[]>; batchSize: number; seed: number } | undefined;
    const result = await train({
      out: path.join(tmp, 'plan'),
      train: [
        { name: 'human', sentences: human },
        { name: 'teacher', sentences: teacher, weight: (p) => (p < 0.5 ? 0 : 1) },
      ],
      plan: (ctx) => {
        seen = ctx;
        return [
          [
            { source: 'teacher', index: 0 },
            { source: 'teacher', index: 3 },
          ], // teacher weight 0 at progress 0
          [
            { source: 'human', index: 1 },
            { source: 'human', index: 2, weight: 0 },
          ],
          [{ source: 'human', index: 4, weight: 0 }], // plan weight 0
        ];
      },
      evalEvery: 1,
      model: 'tiny',
      vocab: VOCAB,
      batchSize: 4,
      seed: 1,
      progress: false,
      log: () => {},
    });
    expect(seen!.lengths.human).toHaveLength(12);
    expect(seen!.lengths.teacher).toHaveLength(12);
    expect(seen!.batchSize).toBe(4);
    expect(result.totalSteps).toBe(3);
    const losses = result.history.map((h) => Math.abs(h.trainLoss));
    expect([losses[0], losses[2]]).toEqual([0, 0]);
    expect(result.history[1]!.trainLoss).toBeGreaterThan(0.1);
    expect(existsSync(path.join(result.bestDir, 'config.json'))).toBe(true); // no dev: final weights shipped
  }, 300_000);

  it('warns with the dev figures when the student collapses to all-O (entity weight 0 teaches only O)', async () => {
    const lines: string[] = [];
    const r = await train({
      out: path.join(tmp, 'collapse'),
      train: trainAll.slice(0, 48),
      dev: devAll.slice(0, 30),
      model: 'tiny',
      vocab: VOCAB,
      epochs: 1,
      lr: 5e-3,
      batchSize: 16,
      maxSeq: 48,
      entityWeight: 0,
      progress: false,
      log: (l) => lines.push(l),
    });
    expect(r.bestF1).toBe(0);
    expect(lines.join('\n')).toMatch(
      /predicts no entity on dev \(\d+ gold entities, 0 found, F1 0\.00\).*--entity-weight/,
    );
  }, 120_000);
});
