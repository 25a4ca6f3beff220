/**
 * Done-when of issue 9's span half: teacher-sim on 127.0.0.1 answers like a loose real LLM — a leading
 * "the", a trailing full stop or comma, quotes around names, batch ids numbered from 0, duplicated or left
 * out, no finish_reason — and otherwise gold. Grounding's span conventions and the client's id checks must
 * give back gold exactly: every sentence annotated, F1 = 1.0, at batch 1 and at batch 8.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { annotate } from '../../src/teacher/annotate.js';
import { resolveDefinitions } from '../../src/teacher/definitions.js';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { devSentences, simGold, scoreAgainstGold, trainDemos } from './helpers.js';

const N = 240;
const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('loose answers from teacher-sim come back as gold', () => {
  for (const batch of [1, 8]) {
    it(`batch ${batch}: articles, full stops, quotes, id drift and no finish_reason → F1 1.0`, async () => {
      const sentences = devSentences().slice(0, N);
      const gold = simGold(sentences);
      const sim = await startTeacherSim({
        gold,
        noise: 'none',
        seed: 3,
        log: null,
        finishReason: 'omit',
        noiseOverrides: {
          articleRate: 0.3,
          edgePunctuationRate: 0.3,
          zeroBasedIdsRate: 0.1,
          duplicateIdRate: 0.1,
          missingIdRate: 0.1,
        },
      });
      sims.push(sim);
      const res = await annotate({
        sentences,
        definitions,
        provider: new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' }),
        demos: trainDemos(1000),
        batch,
        structured: batch === 1,
        concurrency: 4,
        backoffBaseMs: 10,
        log: () => {},
      });
      const score = scoreAgainstGold(sentences, res.sentences);
      // the loose copies really were written
      expect(sim.stats.faults.article).toBeGreaterThan(50);
      expect(sim.stats.faults.edge_punctuation).toBeGreaterThan(50);
      if (batch > 1)
        expect(
          sim.stats.faults.zero_based_ids + sim.stats.faults.duplicate_id + sim.stats.faults.missing_id,
        ).toBeGreaterThan(0);
      expect(res.stats.annotated).toBe(N);
      expect(res.failed).toEqual([]);
      expect(score.f1).toBe(1);
    });
  }
});
