/** The distillation's `pretrain:` stage: trained once per set of inputs, found again by the next run. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCorpus, readCorpus } from '../../src/corpus/index.js';
import { DistillConfig } from '../../src/distill/config.js';
import { pretrainedStudent, pretrainText } from '../../src/distill/pretrain-stage.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-ptstage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const conll = readCorpus(path.join(DATA, 'conll2003/train.txt')).corpus;
const pool = path.join(tmp, 'pool.txt');
writeFileSync(pool, formatCorpus({ ...conll, sentences: conll.sentences.slice(0, 24) }, { format: 'conll' } as never));
const extra = path.join(tmp, 'extra.txt');
writeFileSync(extra, 'Plain text, one sentence per line.\nA second one.\n');

const config = (pretrain: object) =>
  DistillConfig.parse({
    out: path.join(tmp, 'run'),
    data: { train: pool },
    student: { model: 'tiny', vocab: path.join(DATA, 'vocab/bert-base-cased-vocab.txt'), maxSeq: 32 },
    pretrain: { epochs: 1, batchSize: 16, ...pretrain },
  });

describe('distill pretrain stage', () => {
  it('reads the pool and extra files, pretrains once, and reuses the result for the same inputs', async () => {
    const c = config({ files: [extra] });
    const text = pretrainText(c);
    expect(text.length).toBe(24 + 2);
    expect(text[25]).toEqual(['A', 'second', 'one', '.']);
    const log: string[] = [];
    const dir = path.join(tmp, 'phases');
    const a = await pretrainedStudent(c, { dir, log: (l) => log.push(l), progress: false });
    expect(a).toMatch(/pretrain-[0-9a-f]{12}[\\/]model$/);
    expect(log.some((l) => l.includes('pretraining the student'))).toBe(true);
    const again: string[] = [];
    expect(await pretrainedStudent(c, { dir, log: (l) => again.push(l), progress: false })).toBe(a);
    expect(again.join('\n')).toMatch(/found/);
    // other inputs: another folder
    const b = await pretrainedStudent(config({ lr: 1e-4 }), { dir, log: () => {}, progress: false });
    expect(b).not.toBe(a);
    // no pretrain: the student as configured
    expect(await pretrainedStudent(DistillConfig.parse({ student: { model: 'tiny' } }), { dir, log: () => {} })).toBe(
      'tiny',
    );
  }, 180_000);
});
