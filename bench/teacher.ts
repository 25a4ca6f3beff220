/**
 * Teacher benchmark (`npm run bench -- teacher [flags]`, or `npx tsx bench/teacher.ts [flags]`), against
 * `nerd teacher-sim` on 127.0.0.1 (a SIMULATED teacher) with the default noise model and 500 ms latency:
 *
 *   - throughput: sentences/s at --concurrency 16, as a ratio to concurrency 1 measured in the same run
 *     (the ideal is 16×: requests only wait on latency);
 *   - cost: LLM tokens (prompt + completion, from the API's usage) per sentence at --batch 8 vs --batch 1,
 *     with 4 few-shot demonstrations from CoNLL-2003 train in every request.
 *
 * `--f1` instead annotates all of CoNLL-2003 dev and scores it against gold (entity-level, exact span and
 * type, i.e. conlleval on IOB2): `--noise none` gives 0.9987 (8 gold names that begin a sentence with
 * "The"/"A" are trimmed by the article convention, src/teacher/spans.ts); `--noise default` gives the simulated
 * teacher's F1. Flags: --noise default|none, --latency-ms N, --sentences N, --batch N, --samples K,
 * --concurrency N, --shots N.
 */
import { scoreTeacher } from '../src/teacher/quality.js';
import { resolve } from 'node:path';
import { readCorpus } from '../src/corpus/index.js';
import { sharedDataPath } from '../src/package-info.js';
import type { Sentence } from '../src/corpus/types.js';
import { startTeacherSim } from '../src/teacher/sim/server.js';
import { OpenAIProvider } from '../src/teacher/providers/openai.js';
import { annotate, type AnnotateResult } from '../src/teacher/annotate.js';
import { resolveDefinitions } from '../src/teacher/definitions.js';

const DATA = sharedDataPath('conll2003');

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

function score(gold: Sentence[], res: AnnotateResult): { p: number; r: number; f1: number } {
  const r = scoreTeacher(gold, res.sentences);
  return { p: r.precision, r: r.recall, f1: r.f1 };
}

export async function run(args: string[] = []): Promise<Record<string, unknown>> {
  const noise = flag(args, 'noise', 'default');
  const latencyMs = Number(flag(args, 'latency-ms', args.includes('--f1') ? '0' : '500'));
  const shots = Number(flag(args, 'shots', '4'));
  const dev = readCorpus(resolve(DATA, 'dev.txt')).corpus.sentences;
  const demos = readCorpus(resolve(DATA, 'train.txt')).corpus.sentences.slice(0, 3000);
  const definitions = resolveDefinitions(['PER', 'ORG', 'LOC', 'MISC']);
  const gold = dev.map((s, index) => ({
    index,
    tokens: s.tokens,
    entities: s.spans.map((x) => ({ start: x.start, end: x.end, type: x.label })),
  }));
  const sim = await startTeacherSim({ gold, noise, seed: 0, log: null, noiseOverrides: { latencyMs } });
  const provider = new OpenAIProvider({ baseURL: sim.url, model: 'gpt-4o' });
  process.stderr.write(
    `bench teacher: against nerd teacher-sim (SIMULATED teacher), noise ${noise}, latency ${latencyMs} ms\n`,
  );
  const job = (sentences: Sentence[], o: { batch: number; concurrency: number; samples?: number }) =>
    annotate({
      sentences,
      definitions,
      provider,
      demos,
      shots,
      batch: o.batch,
      concurrency: o.concurrency,
      samples: o.samples ?? 1,
      maxRetries: 8,
      log: () => {},
    });
  const out: Record<string, unknown> = {};
  try {
    if (args.includes('--f1')) {
      const n = Number(flag(args, 'sentences', String(dev.length)));
      const batch = Number(flag(args, 'batch', '8'));
      const samples = Number(flag(args, 'samples', '1'));
      const concurrency = Number(flag(args, 'concurrency', '16'));
      const sentences = dev.slice(0, n);
      const t0 = performance.now();
      const res = await job(sentences, { batch, concurrency, samples });
      const s = score(sentences, res);
      Object.assign(out, {
        sentences: n,
        noise,
        batch,
        samples,
        precision: +s.p.toFixed(4),
        recall: +s.r.toFixed(4),
        f1: +s.f1.toFixed(4),
        annotated: res.stats.annotated,
        failed: res.stats.failed,
        hallucinationsRejected: res.stats.hallucinations,
        rejectedByReason: res.stats.rejectedByReason,
        requests: res.stats.requests,
        retries: res.stats.retries,
        truncated: res.stats.truncated,
        parseFailures: res.stats.parseFailures,
        missingFromBatch: res.stats.missingFromBatch,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
      });
    } else {
      const reference = await (async () => {
        const sentences = dev.slice(0, 12);
        const t0 = performance.now();
        await job(sentences, { batch: 1, concurrency: 1 });
        return sentences.length / ((performance.now() - t0) / 1000);
      })();
      const measure = async (batch: number, n: number) => {
        const sentences = dev.slice(100, 100 + n);
        const t0 = performance.now();
        const res = await job(sentences, { batch, concurrency: 16 });
        const seconds = (performance.now() - t0) / 1000;
        return {
          sentencesPerS: n / seconds,
          tokensPerSentence: (res.stats.promptTokens + res.stats.completionTokens) / n,
          promptPerSentence: res.stats.promptTokens / n,
          completionPerSentence: res.stats.completionTokens / n,
          requests: res.stats.requests,
          retries: res.stats.retries,
        };
      };
      const b1 = await measure(1, 192);
      const b8 = await measure(8, 192);
      Object.assign(out, {
        'concurrency 1, batch 1: sentences/s (reference)': +reference.toFixed(2),
        'concurrency 16, batch 1: sentences/s': +b1.sentencesPerS.toFixed(2),
        'speed-up of concurrency 16 over 1 (ideal 16)': +(b1.sentencesPerS / reference).toFixed(2),
        'concurrency 16, batch 8: sentences/s': +b8.sentencesPerS.toFixed(2),
        'batch 1: LLM tokens/sentence (prompt + completion)': `${b1.tokensPerSentence.toFixed(0)} (${b1.promptPerSentence.toFixed(0)} + ${b1.completionPerSentence.toFixed(0)})`,
        'batch 8: LLM tokens/sentence (prompt + completion)': `${b8.tokensPerSentence.toFixed(0)} (${b8.promptPerSentence.toFixed(0)} + ${b8.completionPerSentence.toFixed(0)})`,
        'tokens ratio batch 8 / batch 1': +(b8.tokensPerSentence / b1.tokensPerSentence).toFixed(3),
        'requests (retries) batch 1 / batch 8': `${b1.requests} (${b1.retries}) / ${b8.requests} (${b8.retries})`,
      });
    }
  } finally {
    await sim.close();
  }
  for (const [k, v] of Object.entries(out))
    process.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
  return out;
}

const invoked = process.argv[1] ?? '';
if (/bench[\\/]teacher\.ts$/.test(invoked)) await run(process.argv.slice(2));
