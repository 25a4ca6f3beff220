/**
 * What the selection-round tests (select-rounds, select-human-rounds) share: a pool file cut from
 * CoNLL-2003 dev, a small run config on it (tiny student, 1 epoch, the simulated teacher with a SQLite cache
 * in the test's folder) and the selector-student folders a run leaves.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DistillConfig } from '../../src/distill/config.js';
import { VOCAB } from '../helpers/data.js';
import { DEV } from '../teacher/helpers.js';

/** the first `n` sentences of CoNLL-2003 dev, written to DIR/pool.txt */
export function slice(dir: string, n: number): string {
  const blocks = readFileSync(DEV, 'utf8')
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '')
    .slice(0, n);
  const file = path.join(dir, 'pool.txt');
  writeFileSync(file, `${blocks.join('\n\n')}\n\n`);
  return file;
}

/** a run on `pool` (20 human sentences, 16 for the teacher), with `extra` over it (`teacher` merged) */
export function configFor(dir: string, pool: string, extra: Record<string, unknown>) {
  return DistillConfig.parse({
    out: path.join(dir, 'run'),
    seed: 3,
    budget: 20,
    data: { train: pool, dev: pool, test: pool, devLimit: 10, teacherLimit: 16 },
    student: { model: 'tiny', batchSize: 8, maxSeq: 64, threads: 1, vocab: VOCAB.cased },
    phase2: { epochs: 1, lr: 0.002 },
    ...extra,
    teacher: { batch: 4, concurrency: 2, cache: path.join(dir, 'cache.sqlite'), ...(extra.teacher as object) },
  });
}

/** the selector students' folders (select-HASH) in `dir`, sorted */
export const selectors = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('select-'))
    .sort();
