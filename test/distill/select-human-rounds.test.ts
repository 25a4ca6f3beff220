import { describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { runData } from '../../src/distill/run.js';
import { humanPart } from '../../src/distill/split.js';
import { tempDir } from '../teacher/helpers.js';
import { configFor, selectors, slice } from './select-helpers.js';

describe('cold-start human uncertainty', () => {
  it('exactly the budget, a seeded random half first, deterministic per seed', async () => {
    const dir = tempDir('nerd-select-human-');
    const pool = slice(dir, 60);
    const config = configFor(dir, pool, { humanSelect: 'uncertainty' });
    const lines: string[] = [];
    const data = await runData(config, { phaseDir: dir, progress: false, log: (l) => lines.push(l) });
    expect(data.human).toHaveLength(20);
    expect(new Set(data.human).size).toBe(20);
    expect(data.unlabelled).toHaveLength(16);
    expect(data.unlabelled.some((s) => data.human.includes(s))).toBe(false);
    const log = lines.join('\n');
    expect(log).toMatch(/human round 1\/2: a seeded random 10 of the 60 pool sentences/);
    expect(log).toMatch(/human round 2\/2: picked 10 of 50 \(student on 10 gold sentences/);
    const all = readCorpus(pool).corpus.sentences;
    const firstChunk = humanPart(all, 10, 3).human.map((i) => all[i]!);
    const texts = new Set(data.human.map((s) => s.tokens.join(' ')));
    for (const s of firstChunk) expect(texts.has(s.tokens.join(' '))).toBe(true);
    expect(selectors(dir)).toHaveLength(1);

    const again: string[] = [];
    const second = await runData(config, { phaseDir: dir, progress: false, log: (l) => again.push(l) });
    expect(second.human).toEqual(data.human);
    expect(again.join('\n')).toMatch(/human round 2\/2: picked 10 .*reused\)/);
    expect(selectors(dir)).toHaveLength(1);

    // three rounds when teacher.rounds says 3 (7 random, then 6 and 7 by doubt): two more students
    const three = await runData(configFor(dir, pool, { humanSelect: 'uncertainty', teacher: { rounds: 3 } }), {
      phaseDir: dir,
      progress: false,
      log: () => {},
    });
    expect(three.human).toHaveLength(20);
    expect(new Set(three.human).size).toBe(20);
    expect(selectors(dir)).toHaveLength(3);
  }, 60_000);
});
