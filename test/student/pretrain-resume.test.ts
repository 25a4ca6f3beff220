/**
 * `pretrain`: a masked-LM run stopped after k steps and resumed from OUT/last ends with exactly the weights of
 * an uninterrupted run; its OUT/model is a BertForMaskedLM checkpoint (Hugging Face names, tied decoder not
 * stored) that `train` fine-tunes and that `pretrain` continues (head kept, loss starts lower than from
 * scratch); a resume with other settings is refused.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { InputError } from '../../src/errors.js';
import { readSafetensors } from '../../src/student/safetensors.js';
import { pretrain, type PretrainOptions } from '../../src/student/pretrain.js';
import { train } from '../../src/student/train.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const VOCAB = path.join(DATA, 'vocab/bert-base-cased-vocab.txt');
const sentences = readCorpus(path.join(DATA, 'conll2003/train.txt')).corpus.sentences.slice(0, 32);
const text = sentences.map((s) => s.tokens);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-pretrain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = (out: string): PretrainOptions => ({
  out,
  text,
  model: 'tiny',
  vocab: VOCAB,
  epochs: 2,
  lr: 2e-3,
  batchSize: 16,
  maxSeq: 32,
  seed: 5,
  saveEvery: 1000,
  progress: false,
  log: () => {},
});

const weights = (dir: string) => readFileSync(path.join(dir, 'model.safetensors'));

describe('nerd pretrain', () => {
  it('resumes after a kill to exactly the uninterrupted weights; writes a BertForMaskedLM checkpoint', async () => {
    const a = await pretrain(base(path.join(tmp, 'a')));
    expect(a.interrupted).toBe(false);
    expect(a.totalSteps).toBeGreaterThanOrEqual(4);
    expect(a.history.map((h) => h.epoch)).toEqual([1, 2]);

    const outB = path.join(tmp, 'b');
    const b1 = await pretrain({ ...base(outB), stopAfter: 2 });
    expect(b1.interrupted).toBe(true);
    expect(b1.steps).toBe(2);
    const b2 = await pretrain({ ...base(outB), resume: true });
    expect(b2.resumedAt).toBe(2);
    expect(b2.steps).toBe(a.totalSteps);
    expect(weights(path.join(outB, 'model')).equals(weights(a.modelDir))).toBe(true);
    expect(b2.history.map((h) => h.trainLoss)).toEqual(a.history.map((h) => h.trainLoss));

    const config = JSON.parse(readFileSync(path.join(a.modelDir, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForMaskedLM']);
    expect(config.id2label).toBeUndefined();
    const { tensors } = await readSafetensors(path.join(a.modelDir, 'model.safetensors'));
    expect([...tensors.keys()].filter((k) => k.startsWith('cls.'))).toEqual([
      'cls.predictions.bias',
      'cls.predictions.transform.dense.weight',
      'cls.predictions.transform.dense.bias',
      'cls.predictions.transform.LayerNorm.weight',
      'cls.predictions.transform.LayerNorm.bias',
    ]);
    expect(tensors.get('bert.embeddings.word_embeddings.weight')!.shape).toEqual([28996, 128]);
    expect(tensors.has('classifier.weight')).toBe(false);
  }, 300_000);

  it('the checkpoint is fine-tuned by train and continued by pretrain (its head kept, loss lower than from scratch)', async () => {
    const a = path.join(tmp, 'a', 'model');
    const notes: string[] = [];
    const ft = await train({
      out: path.join(tmp, 'ft'),
      train: sentences.slice(0, 16),
      model: a,
      epochs: 1,
      batchSize: 16,
      maxSeq: 32,
      progress: false,
      log: (l) => notes.push(l),
    });
    expect(ft.steps).toBeGreaterThan(0);
    expect(notes.join('\n')).toMatch(/no classifier head: initialised a fresh one/);
    // a nerd pretrain checkpoint fine-tunes at the preset rate; any other checkpoint at 5e-5
    expect(notes.join('\n')).toMatch(/lr 0\.0005 with/);
    const notes2: string[] = [];
    await train({
      out: path.join(tmp, 'ft2'),
      train: sentences.slice(0, 16),
      model: ft.bestDir,
      epochs: 1,
      batchSize: 16,
      maxSeq: 32,
      progress: false,
      log: (l) => notes2.push(l),
    });
    expect(notes2.join('\n')).toMatch(/lr 0\.00005 with|lr 5e-5 with/);
    const { tensors } = await readSafetensors(path.join(ft.bestDir, 'model.safetensors'));
    expect(tensors.has('classifier.weight')).toBe(true);
    expect(tensors.has('cls.predictions.bias')).toBe(false);

    const log: string[] = [];
    const more = await pretrain({ ...base(path.join(tmp, 'more')), model: a, epochs: 1, log: (l) => log.push(l) });
    expect(log.join('\n')).not.toMatch(/fresh/);
    const scratch = await pretrain({ ...base(path.join(tmp, 'scratch')), epochs: 1 });
    expect(more.history[0]!.trainLoss).toBeLessThan(scratch.history[0]!.trainLoss);
  }, 300_000);

  it('refuses to resume with other settings', async () => {
    const out = path.join(tmp, 'c');
    await pretrain({ ...base(out), stopAfter: 1 });
    await expect(pretrain({ ...base(out), resume: true, batchSize: 8 })).rejects.toThrow(InputError);
  }, 120_000);
});
