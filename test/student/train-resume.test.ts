/**
 * Kill-and-resume: a run stopped after k steps and resumed from OUT/last ends with exactly the parameters
 * of an uninterrupted run (same batches from (seed, epoch), dropout masks from (seed, step), AdamW moments
 * restored). Also: OUT/last swaps are crash-safe, and a resume with other settings is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { InputError } from '../../src/errors.js';
import { train } from '../../src/student/train.js';
import type { TrainOptions } from '../../src/student/train-types.js';
import { recoverDir, writeDirAtomically } from '../../src/student/train-state.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const VOCAB = path.join(DATA, 'vocab/bert-base-cased-vocab.txt');
const trainSents = readCorpus(path.join(DATA, 'conll2003/train.txt')).corpus.sentences.slice(0, 96);
const dev = readCorpus(path.join(DATA, 'conll2003/dev.txt')).corpus.sentences.slice(0, 40);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = (out: string): TrainOptions => ({
  out,
  train: trainSents,
  dev,
  model: 'tiny',
  vocab: VOCAB,
  epochs: 2,
  lr: 2e-3,
  batchSize: 16,
  maxSeq: 48,
  seed: 3,
  saveEvery: 1000,
  progress: false,
  log: () => {},
});

const weights = (dir: string) => readFileSync(path.join(dir, 'model.safetensors'));

describe('resume after a kill', () => {
  it('gives the same parameters, history and best checkpoint as an uninterrupted run', async () => {
    const a = await train(base(path.join(tmp, 'a')));
    // 2 epochs of 6-7 batches (long sentences become several windows at maxSeq 48)
    expect(a.totalSteps).toBeGreaterThanOrEqual(12);
    expect(a.totalSteps).toBeLessThanOrEqual(16);
    expect(a.interrupted).toBe(false);

    const outB = path.join(tmp, 'b');
    const b1 = await train({ ...base(outB), stopAfter: 5 });
    expect(b1.interrupted).toBe(true);
    expect(b1.steps).toBe(5);
    expect(JSON.parse(readFileSync(path.join(outB, 'last/trainer_state.json'), 'utf8')).step).toBe(5);
    expect(existsSync(path.join(outB, 'best'))).toBe(false); // no evaluation yet
    // the second leg crosses the end of epoch 1 (evaluation, best/ written) and stops mid-epoch 2
    const b2 = await train({ ...base(outB), resume: true, stopAfter: 4 });
    expect(b2.resumedAt).toBe(5);
    expect(b2.steps).toBe(9);
    const b3 = await train({ ...base(outB), resume: true });
    expect(b3.resumedAt).toBe(9);
    expect(b3.steps).toBe(a.totalSteps);
    expect(b3.interrupted).toBe(false);

    expect(weights(path.join(outB, 'last/model')).equals(weights(path.join(tmp, 'a/last/model')))).toBe(true);
    expect(weights(path.join(outB, 'best')).equals(weights(path.join(tmp, 'a/best')))).toBe(true);
    expect(b3.history.map((h) => [h.step, h.dev?.f1, h.trainLoss])).toEqual(
      a.history.map((h) => [h.step, h.dev?.f1, h.trainLoss]),
    );
    expect(b3.bestF1).toBe(a.bestF1);
  }, 600_000);

  it('refuses to resume with other settings', async () => {
    const out = path.join(tmp, 'c');
    await train({ ...base(out), stopAfter: 1 });
    await expect(train({ ...base(out), resume: true, batchSize: 8 })).rejects.toThrow(InputError);
  }, 300_000);
});

describe('OUT/last swaps', () => {
  it('leave a complete folder whenever the process dies', async () => {
    const dir = path.join(tmp, 'swap');
    await writeDirAtomically(dir, async (t) => writeFileSync(path.join(t, 'f'), 'one'));
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('one');
    // a kill between the two renames: only dir.replaced and a half-written temporary (files.ts) remain
    const half = path.join(tmp, '.swap.123-abc.tmp');
    mkdirSync(half);
    writeFileSync(path.join(half, 'f'), 'half');
    const { renameSync } = await import('node:fs');
    renameSync(dir, `${dir}.replaced`);
    await recoverDir(dir);
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('one');
    expect(existsSync(half) || existsSync(`${dir}.replaced`)).toBe(false);
    await writeDirAtomically(dir, async (t) => writeFileSync(path.join(t, 'f'), 'two'));
    expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('two');
  });
});
