/**
 * Uncertainty selection in rounds (src/distill/select-rounds.ts), on a 70-sentence slice of CoNLL-2003 dev
 * with the tiny student (1 epoch) and the simulated teacher on 127.0.0.1 with a real SQLite cache:
 * teacher rounds pick disjoint chunks that total the teacher budget, the same ones on a rerun, which
 * reuses every round's student, and the run's teacher job then finds the earlier rounds' batches in the
 * cache. (The human budget's cold start: select-human-rounds.test.ts.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DistillConfig } from '../../src/distill/config.js';
import { runData } from '../../src/distill/run.js';
import { chunkSizes } from '../../src/distill/select-rounds.js';
import { selectionKey } from '../../src/distill/select-stage.js';
import { teach } from '../../src/distill/teach-stage.js';
import { VOCAB } from '../helpers/data.js';
import { DEV, tempDir } from '../teacher/helpers.js';

function slice(dir: string, n: number): string {
  const blocks = readFileSync(DEV, 'utf8')
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '')
    .slice(0, n);
  const file = path.join(dir, 'pool.txt');
  writeFileSync(file, `${blocks.join('\n\n')}\n\n`);
  return file;
}

function configFor(dir: string, pool: string, extra: Record<string, unknown>) {
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

const selectors = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('select-'))
    .sort();

describe('chunkSizes', () => {
  it('splits k over the rounds, every chunk but the last a multiple of the batch', () => {
    expect(chunkSizes(16, 2, 4)).toEqual([8, 8]);
    expect(chunkSizes(1000, 4, 8)).toEqual([248, 256, 248, 248]);
    expect(chunkSizes(10, 3, 8)).toEqual([8, 2]);
    expect(chunkSizes(7, 1, 8)).toEqual([7]);
    expect(chunkSizes(3, 5)).toEqual([1, 1, 1]);
    for (const [k, r, a] of [
      [1000, 4, 8],
      [37, 3, 4],
      [5, 2, 8],
    ] as const) {
      const s = chunkSizes(k, r, a);
      expect(s.reduce((x, y) => x + y, 0)).toBe(k);
      expect(s.slice(0, -1).every((x) => x % a === 0)).toBe(true);
    }
  });
});

describe('uncertainty in rounds', () => {
  it('teacher rounds: disjoint chunks totalling the budget, the same on a rerun, students and teacher answers reused', async () => {
    const dir = tempDir('nerd-select-rounds-');
    const pool = slice(dir, 70);
    const config = configFor(dir, pool, { teacher: { select: 'uncertainty', rounds: 2 } });
    const lines: string[] = [];
    const data = await runData(config, { phaseDir: dir, progress: false, log: (l) => lines.push(l) });
    const log = lines.join('\n');
    expect(data.human).toHaveLength(20);
    expect(data.unlabelled).toHaveLength(16);
    expect(new Set(data.unlabelled).size).toBe(16);
    expect(data.unlabelled.some((s) => data.human.includes(s))).toBe(false);
    expect(log).toMatch(/teacher round 1\/2: picked 8 of 50 candidates \(student on 20 human \+ 0 teacher/);
    expect(log).toMatch(/teacher round 2\/2: the teacher annotates the 8 picked so far/);
    expect(log).toMatch(/teacher round 2\/2: picked 8 of 42 candidates \(student on 20 human \+ 8 teacher/);
    expect(log).not.toMatch(/reused/);
    const folders = selectors(dir);
    expect(folders).toHaveLength(2);

    // a rerun: the same sentences in the same order, both students found finished
    const again: string[] = [];
    const second = await runData(config, { phaseDir: dir, progress: false, log: (l) => again.push(l) });
    expect(second.unlabelled).toEqual(data.unlabelled);
    expect(again.filter((l) => /teacher round \d\/2: picked .*reused\)/.test(l))).toHaveLength(2);
    expect(selectors(dir)).toEqual(folders);

    // the run's teacher job on the chosen sentences: round 1's two batches come from the cache
    const taught = await teach(config, data.unlabelled, data.human, data.dev, { progress: false });
    expect(taught.stats.plannedRequests).toBe(4);
    expect(taught.stats.cacheHits).toBeGreaterThanOrEqual(2);
    const paid = taught.stats.requests;
    const replay = await teach(config, data.unlabelled, data.human, data.dev, { progress: false });
    expect(replay.stats.requests).toBe(0);
    expect(paid).toBeLessThanOrEqual(2 + taught.stats.retries);

    // one round shares round 1's student, and its teacher list is in pool order, not the rounds'
    const one = await runData(configFor(dir, pool, { teacher: { select: 'uncertainty', rounds: 1 } }), {
      phaseDir: dir,
      progress: false,
      log: () => {},
    });
    expect(selectors(dir)).toEqual(folders);
    expect(one.unlabelled).toHaveLength(16);
    for (const s of data.unlabelled.slice(0, 8)) expect(one.unlabelled).toContain(s);

    // rounds join the run's identity only where they are used
    expect(selectionKey(config)).not.toEqual(
      selectionKey(configFor(dir, pool, { teacher: { select: 'uncertainty' } })),
    );
    expect(selectionKey(configFor(dir, pool, { teacher: { rounds: 4 } }))).toEqual({});
  }, 60_000);
});
