/**
 * `teacher.select: uncertainty` in `nerd distill`: a tiny student is trained on the human sentences, scores
 * the teacher's candidates, and the teacher gets the ones it is least sure of — the same ones on a rerun,
 * which reuses the trained selector.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DistillConfig } from '../../src/distill/config.js';
import { runData } from '../../src/distill/run.js';
import { humanPart } from '../../src/distill/split.js';
import { Predictor } from '../../src/student/predict.js';
import { predictorSource, selectIndices, sentenceUncertainty, uncertaintyScores } from '../../src/teacher/select.js';
import { VOCAB } from '../helpers/data.js';
import { DEV, tempDir } from './helpers.js';

describe('teacher.select uncertainty in distill', () => {
  it('trains a human-only student, sends the teacher its least certain candidates, and reuses it on a rerun', async () => {
    const dir = tempDir('nerd-select-distill-');
    const blocks = readFileSync(DEV, 'utf8')
      .split(/\n\s*\n/)
      .filter((b) => b.trim() !== '')
      .slice(0, 70);
    const pool = path.join(dir, 'pool.txt');
    writeFileSync(pool, `${blocks.join('\n\n')}\n\n`);
    const config = DistillConfig.parse({
      out: path.join(dir, 'run'),
      seed: 4,
      budget: 20,
      data: { train: pool, dev: pool, test: pool, devLimit: 10, teacherLimit: 12 },
      teacher: { select: 'uncertainty' },
      student: { model: 'tiny', batchSize: 8, maxSeq: 64, threads: 1, vocab: VOCAB.cased },
      phase2: { epochs: 1, lr: 0.002 },
    });
    const lines: string[] = [];
    const data = await runData(config, { phaseDir: dir, progress: false, log: (l) => lines.push(l) });
    expect(data.human).toHaveLength(20);
    expect(data.unlabelled).toHaveLength(12);
    expect(lines.join('\n')).toMatch(/training a human-only student \(20 sentences, 1 epochs\)/);
    expect(lines.join('\n')).toMatch(/12 of 50 unlabelled sentences for the teacher, chosen by 'uncertainty'/);

    // the choice is the selector's 12 least certain candidates
    const selector = readdirSync(dir).filter((f) => f.startsWith('select-'));
    expect(selector).toHaveLength(1);
    const { readCorpus } = await import('../../src/corpus/index.js');
    const all = readCorpus(pool).corpus.sentences;
    const { rest } = humanPart(all, 20, 4);
    const cands = rest.map((i) => all[i]!);
    const predictor = await Predictor.load(path.join(dir, selector[0]!, 'best'), { threads: 1 });
    try {
      // the scores come from each word's full label distribution (the student's softmax), not [p, 1 − p]
      const [one] = await predictor.predictSentences([cands[0]!.tokens], { distributions: true });
      expect(one!.labelProbs).toHaveLength(cands[0]!.tokens.length);
      for (const [w, row] of one!.labelProbs!.entries()) {
        expect(row).toHaveLength(predictor.id2label.length);
        expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
        expect(row).toContain(one!.tagProbs[w]);
      }
      const [first] = await uncertaintyScores(predictorSource(predictor), [cands[0]!.tokens]);
      expect(first).toBeCloseTo(sentenceUncertainty(one!.labelProbs!), 6);
      const scores = await uncertaintyScores(
        predictorSource(predictor),
        cands.map((s) => s.tokens),
      );
      const want = selectIndices(
        cands.map((s) => s.tokens),
        12,
        { strategy: 'uncertainty', seed: 4, scores },
      )
        .map((j) => rest[j]!)
        .sort((a, b) => a - b);
      expect(data.unlabelled).toEqual(want.map((i) => all[i]!));
      // not simply the head of the shuffle (what `first` would send)
      expect(data.unlabelled).not.toEqual(
        rest
          .slice(0, 12)
          .sort((a, b) => a - b)
          .map((i) => all[i]!),
      );
    } finally {
      await predictor.close();
    }

    const again = await runData(config, { phaseDir: dir, progress: false, log: () => {} });
    expect(again.unlabelled).toEqual(data.unlabelled);
    expect(readdirSync(dir).filter((f) => f.startsWith('select-'))).toEqual(selector);

    // the human budget by the same student's doubt (humanSelectModel): the pool's 20 least certain sentences
    const model = path.join(dir, selector[0]!, 'best');
    const humanCfg = DistillConfig.parse({
      ...config,
      teacher: { ...config.teacher, select: 'first' },
      humanSelect: 'uncertainty',
      humanSelectModel: model,
    });
    const byDoubt = await runData(humanCfg, { phaseDir: dir, progress: false, log: () => {} });
    const scorer = await Predictor.load(model, { threads: 1 });
    try {
      const scores = await uncertaintyScores(
        predictorSource(scorer),
        all.map((s) => s.tokens),
      );
      expect(byDoubt.human).toEqual(
        selectIndices(
          all.map((s) => s.tokens),
          20,
          { strategy: 'uncertainty', seed: 4, scores },
        ).map((i) => all[i]!),
      );
    } finally {
      await scorer.close();
    }
    expect(byDoubt.unlabelled).toHaveLength(12);
    expect(byDoubt.unlabelled.some((s) => byDoubt.human.includes(s))).toBe(false);
  });
});
