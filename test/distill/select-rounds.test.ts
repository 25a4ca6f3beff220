import { describe, expect, it } from 'vitest';
import { runData } from '../../src/distill/run.js';
import { chunkSizes } from '../../src/distill/select-rounds.js';
import { selectionKey } from '../../src/distill/select-stage.js';
import { teach } from '../../src/distill/teach-stage.js';
import { tempDir } from '../teacher/helpers.js';
import { configFor, selectors, slice } from './select-helpers.js';

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
