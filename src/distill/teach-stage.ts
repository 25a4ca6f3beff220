/**
 * The teacher stage of `nerd distill`: open the configured teacher (the in-process simulator, an
 * OpenAI-compatible endpoint or a GGUF file) and annotate sentences with it through the SQLite response
 * cache, so the same sentences in the same order (the same batches) are paid for once. Used by the run
 * (run.ts) and by the rounds of uncertainty selection (select-rounds.ts), whose chunks are the head of
 * the run's teacher list, so the run finds them in the cache.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Sentence } from '../corpus/types.js';
import { annotate } from '../teacher/annotate.js';
import { definitionsFor, typesFromLabelled } from '../teacher/definitions.js';
import { createProvider } from '../teacher/providers/index.js';
import { OpenAIProvider } from '../teacher/providers/openai.js';
import type { ChatProvider } from '../teacher/providers/types.js';
import { SIM_MODEL_PREFIX } from '../teacher/providers/types.js';
import { diagnoseTeacher, scoreTeacher } from '../teacher/quality.js';
import { startTeacherSim, type TeacherSim } from '../teacher/sim/server.js';
import { conventionsFromLabelled } from '../teacher/spans.js';
import type { DistillConfig } from './config.js';

export interface TeachOptions {
  log?: (line: string) => void;
  /** progress bars on stderr (default true) */
  progress?: boolean;
  signal?: AbortSignal;
}

interface TeacherHandle {
  provider: ChatProvider;
  sim?: TeacherSim;
}

async function openTeacher(config: DistillConfig, log: (line: string) => void): Promise<TeacherHandle> {
  const t = config.teacher;
  switch (t.provider) {
    case 'sim': {
      // The simulator answers from the gold labels of the text it is asked about: the training pool.
      const gold = config.data.human ? config.data.unlabelled : config.data.train;
      if (!gold) throw new Error('teacher.provider "sim" needs data.unlabelled with gold labels to simulate from');
      const sim = await startTeacherSim({ gold, noise: t.noise, seed: config.seed, log: (l) => log(l) });
      log(`distill: the teacher is nerd teacher-sim (SIMULATED, noise "${t.noise}") at ${sim.url} — not a real LLM`);
      return { provider: new OpenAIProvider({ baseURL: sim.url, model: `${SIM_MODEL_PREFIX}-${t.noise}` }), sim };
    }
    case 'openai':
    case 'gguf':
      if (t.provider === 'openai' && !t.model) throw new Error('teacher.model is required for provider "openai"');
      if (t.provider === 'gguf' && !t.gguf)
        throw new Error('teacher.gguf (a GGUF file path) is required for provider "gguf"');
      return {
        provider: await createProvider(
          t.provider === 'gguf' ? { gguf: t.gguf, model: t.model } : { baseUrl: t.baseUrl, model: t.model },
        ),
      };
  }
}

/**
 * Annotates `unlabelled` with the teacher; returns the teacher's sentences (spans with confidence). The
 * same call for the same sentences in the same order asks the same requests, which the cache answers.
 */
export async function teach(
  config: DistillConfig,
  unlabelled: Sentence[],
  human: Sentence[],
  dev: Sentence[],
  opts: TeachOptions,
) {
  const log = opts.log ?? (() => {});
  const t = config.teacher;
  // the human-labelled sentences the teacher's settings are read from when the config does not give them
  const labelled = [...human, ...dev];
  // the types: as configured, else those of the human-labelled data (a config that names only the data)
  const types = t.types ?? typesFromLabelled(labelled);
  if (types.length === 0)
    throw new Error('teacher.types is not set and the human-labelled data has no entities to take the types from');
  if (!t.types) log(`distill: teacher types from the labelled data: ${types.join(', ')}`);
  const definitions = definitionsFor(types, {
    file: t.definitions,
    labelled,
    log: (l) => log(`distill: ${l}`),
  });
  // how an answer inside a token is aligned: as the labelled data does it (spans.ts)
  const conventions = conventionsFromLabelled(labelled);
  const handle = await openTeacher(config, log);
  try {
    mkdirSync(path.dirname(path.resolve(t.cache)), { recursive: true });
    const result = await annotate({
      sentences: unlabelled.map((s, i) => ({ id: s.id ?? `u${i}`, tokens: s.tokens, spans: [] })),
      definitions,
      conventions,
      provider: handle.provider,
      demos: human,
      batch: t.batch,
      samples: t.samples,
      temperature: t.temperature,
      concurrency: t.concurrency,
      maxCost: t.maxCost,
      cache: t.cache,
      progress: opts.progress ?? true,
      log,
      signal: opts.signal,
    });
    if (result.stoppedBy)
      throw new Error(
        `the teacher stopped early (${result.stoppedBy}${result.fatalError ? `: ${result.fatalError}` : ''}); rerun to resume from the cache`,
      );
    if (result.failed.length)
      log(`distill: the teacher failed on ${result.failed.length} sentence(s); they are left out of the teacher data`);
    // the spans the student will see: those with enough votes (confidence kept only for weighting)
    const kept = result.sentences.map((a) => ({
      ...a,
      entities: a.entities.filter((e) => e.confidence >= t.minConfidence),
    }));
    const teacherSentences: Sentence[] = kept.map((a) => ({
      id: a.id,
      tokens: a.tokens,
      spans: a.entities.map((e) => ({
        start: e.start,
        end: e.end,
        label: e.label,
        ...(t.confidenceWeighting ? { confidence: e.confidence } : {}),
      })),
    }));
    // the teacher's own quality on the same spans, where gold labels exist (failed sentences count as empty)
    const teacherScore = unlabelled.some((s) => s.spans.length > 0) ? scoreTeacher(unlabelled, kept) : undefined;
    // a teacher that scores near 0 where the labels are known is misconfigured: stop before training on it
    const broken = teacherScore ? diagnoseTeacher(unlabelled, kept, types, 'distill: the teacher') : undefined;
    if (broken) throw new Error(broken);
    return { teacherSentences, teacherScore, stats: result.stats };
  } finally {
    await handle.provider.close?.();
    await handle.sim?.close();
  }
}
