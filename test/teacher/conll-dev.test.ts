/**
 * CoNLL-2003 dev through the whole teacher pipeline (prompt with few-shot demonstrations from train,
 * real HTTP client, teacher-sim, parsing, grounding): with the simulator's noise off nothing may be lost
 * (F1 = 1.0); with its default noise the teacher's F1 is reported. The full dev set is run by
 * `npx tsx bench/teacher.ts --f1 --noise none|default`; tests use a slice to stay fast.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { OpenAIProvider } from '../../src/teacher/providers/openai.js';
import { annotate } from '../../src/teacher/annotate.js';
import { resolveDefinitions } from '../../src/teacher/definitions.js';
import { devSentences, simGold, scoreAgainstGold, trainDemos } from './helpers.js';

const N = 600;
const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

async function run(noise: 'none' | 'default', structured: boolean, batch: number) {
  const sentences = devSentences().slice(0, N);
  const gold = simGold(sentences);
  const sim = await startTeacherSim({
    gold,
    noise,
    seed: 11,
    log: null,
    noiseOverrides: { latencyMs: 0, slowMs: 20, retryAfterS: 0.05 },
  });
  sims.push(sim);
  const res = await annotate({
    sentences,
    definitions,
    provider: new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' }),
    demos: trainDemos(2000),
    batch,
    structured,
    concurrency: 8,
    backoffBaseMs: 10,
    log: () => {},
  });
  return { res, score: scoreAgainstGold(sentences, res.sentences), sim };
}

describe(`CoNLL-2003 dev (first ${N} sentences) through teacher-sim`, () => {
  it('with noise off: F1 = 1.0, plain-text CoT answers with few-shot demonstrations', async () => {
    const { res, score } = await run('none', false, 4);
    expect(res.stats.annotated).toBe(N);
    expect(score.f1).toBe(1);
    expect(res.stats.rejectedByReason).toEqual({});
  });

  it('with default noise: reports the teacher F1 (grounding and retries keep it near the content-noise ceiling)', async () => {
    const { res, score, sim } = await run('default', true, 8);
    process.stderr.write(
      `teacher F1 on CoNLL-2003 dev[0:${N}] at default noise: P ${score.p.toFixed(4)} R ${score.r.toFixed(4)} F1 ${score.f1.toFixed(4)}; ` +
        `hallucinations rejected ${res.stats.hallucinations} (sim injected ${sim.stats.faults.hallucinated}); retries ${res.stats.retries}\n`,
    );
    expect(res.stats.annotated).toBe(N);
    expect(res.stats.failed).toBe(0);
    // the default noise model aims at entity F1 0.75-0.8 for a GPT-4-class teacher
    expect(score.f1).toBeGreaterThan(0.7);
    expect(score.f1).toBeLessThan(0.9);
    expect(res.stats.hallucinations).toBeGreaterThan(0);
  });
});
