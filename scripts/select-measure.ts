/**
 * A small measurement of teacher selection (issue 14), until `nerd experiment` has a selection axis:
 * CoNLL-2003, 1% human budget, teacher-sim (default noise, SIMULATED), `teacher-only` (so the teacher's
 * sentences are all the student sees), a tiny student from fresh weights; one JSON line per strategy with
 * test F1 and what the teacher got (sentences, tokens, distinct words, gold entities).
 *
 *   npx tsx scripts/select-measure.ts STRATEGIES SEED TEACHER_SENTENCES [OUT] [EPOCHS]
 *   npx tsx scripts/select-measure.ts first,random,diversity,uncertainty 1 500 /tmp/sel 20
 */
import path from 'node:path';
import { DistillConfig } from '../src/distill/config.js';
import { runData, runDistill } from '../src/distill/run.js';
import { sharedDataPath } from '../src/package-info.js';

const [
  list = 'first,random,diversity,uncertainty',
  seedArg = '1',
  limitArg = '500',
  out = 'runs/select-measure',
  epochsArg = '20',
] = process.argv.slice(2);
const seed = Number(seedArg);
const limit = Number(limitArg);
const epochs = Number(epochsArg);

for (const select of list.split(',')) {
  const config = DistillConfig.parse({
    name: `select-${select}`,
    out: path.join(out, 'runs', `${select}-s${seed}-n${limit}`),
    seed,
    budget: 0.01,
    strategy: 'teacher-only',
    data: {
      train: sharedDataPath('conll2003/train.txt'),
      dev: sharedDataPath('conll2003/dev.txt'),
      test: sharedDataPath('conll2003/test.txt'),
      devLimit: 300,
      teacherLimit: limit,
    },
    teacher: {
      provider: 'sim',
      noise: 'default',
      batch: 8,
      concurrency: 8,
      cache: path.join(out, 'teacher-cache.sqlite'),
      select,
    },
    student: { model: 'tiny', threads: 1 },
    // phase 2's settings also train the human-only student that scores the candidates for `uncertainty`
    phase1: { epochs, lr: 0.002 },
    phase2: { epochs, lr: 0.001 },
  });
  const started = Date.now();
  const opts = {
    phaseDir: path.join(out, 'phases'),
    progress: false,
    log: (l: string) => (/chosen|teacher F1|human-only student/.test(l) ? process.stderr.write(`${l}\n`) : undefined),
  };
  const r = await runDistill(config, opts);
  const data = await runData(config, { ...opts, log: () => {} });
  console.log(
    JSON.stringify({
      select,
      seed,
      teacherSentences: data.unlabelled.length,
      testF1: r.test.f1,
      devF1: r.dev.f1,
      teacherF1: r.teacher?.f1,
      tokens: data.unlabelled.reduce((a, s) => a + s.tokens.length, 0),
      distinctWords: new Set(data.unlabelled.flatMap((s) => s.tokens)).size,
      goldEntities: data.unlabelled.reduce((a, s) => a + s.spans.length, 0),
      seconds: (Date.now() - started) / 1000,
    }),
  );
}
