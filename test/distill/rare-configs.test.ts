/**
 * The rare-entities experiment configs (configs/wnut17-10pct*.yaml, README "What it measures here"): they load,
 * name WNUT-17 files that exist, differ only by the pretraining stage, and pretrain on train + dev text, not
 * on the test text.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExperimentConfig, loadConfigFile } from '../../src/distill/config.js';
import { pretrainText } from '../../src/distill/pretrain-stage.js';
import { loadSentences } from '../../src/distill/run.js';
import { ROOT } from '../helpers/data.js';

const load = (name: string) => loadConfigFile(path.join(ROOT, 'configs', name), ExperimentConfig);

describe('configs/wnut17-10pct*.yaml', () => {
  const plain = load('wnut17-10pct.yaml');
  const pretrained = load('wnut17-10pct-pretrained.yaml');

  it('run the 10% budget of WNUT-17 with 1,500 teacher sentences on files that exist', () => {
    expect(plain.budgets).toEqual([0.1]);
    expect(plain.strategies).toEqual(['human-only', 'teacher-only', 'simple-mix', 'mix']);
    expect(plain.base.data.teacherLimit).toBe(1500);
    for (const f of [plain.base.data.train, plain.base.data.dev, plain.base.data.test]) {
      expect(f).toMatch(/wnut17/);
      expect(existsSync(path.resolve(ROOT, f)), f).toBe(true);
    }
  });

  it('differ only by the pretraining stage (name, folder and its note aside)', () => {
    const { pretrain, ...rest } = pretrained.base;
    expect(pretrain).toMatchObject({ epochs: 5, pool: true });
    expect(pretrain!.maxMinutes).toBeUndefined(); // fixed epochs, not a wall-clock budget
    expect({ ...pretrained, name: '', out: '', base: rest }).toEqual({ ...plain, name: '', out: '', base: plain.base });
  });

  it('pretrain on the text of train and dev, never on the test text', () => {
    const cwd = process.cwd();
    process.chdir(ROOT); // the config's paths are relative to the project root
    try {
      const text = pretrainText({ ...pretrained.base, budget: 0.1 });
      const train = loadSentences(pretrained.base.data.train);
      const dev = loadSentences(pretrained.base.data.dev);
      expect(text.length).toBe(train.length + dev.length);
      const test = new Set(loadSentences(pretrained.base.data.test).map((s) => s.tokens.join(' ')));
      const seen = new Set(text.map((t) => t.join(' ')));
      const overlap = [...test].filter((t) => seen.has(t) && t.split(' ').length > 8);
      expect(overlap.length).toBeLessThan(3); // a few short tweets may repeat across WNUT's splits
    } finally {
      process.chdir(cwd);
    }
  });
});
