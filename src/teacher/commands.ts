/**
 * `nerd annotate` (the teacher job) and `nerd teacher-sim` (registered from ./sim).
 *
 * Output: JSONL, one line per annotated sentence, in input order:
 *   {"id": "...", "tokens": ["EU", "rejects", ...],
 *    "entities": [{"start": 0, "end": 1, "label": "ORG", "text": "EU", "confidence": 1}],
 *    "rejected": [{"text": "Brussels", "type": "LOC", "reason": "not-found"}, ...],
 *    "teacher": {"model": "gpt-4o-2024-08-06", "samples": 1}}
 * `start`/`end` are TOKEN offsets into `tokens` (end exclusive); `charStart`/`charEnd` (CHARACTER offsets
 * into the input's text) are added when the input had text. Sentences that failed, or were left by a
 * budget stop, are not written (see annotate.ts); rerun the same command to finish them.
 *
 * The input is read and the output written as streams (input.ts, output.ts): memory stays bounded by the
 * work in flight whatever the size of the input; the output file appears, complete, at the end.
 */
import { Command, Option } from 'commander';
import { InputError } from '../errors.js';
import { numberFlag } from '../flags.js';
import { readCorpus } from '../corpus/index.js';
import type { Sentence } from '../corpus/types.js';
import { registerSimCommand } from './sim/command.js';
import { createProvider } from './providers/index.js';
import { apiKeyFromEnv, scrubSecrets } from './providers/secrets.js';
import { definitionsFor, parseTypes, typesFromLabelled } from './definitions.js';
import { conventionsFromLabelled } from './spans.js';
import { loadPrices, priceFor, unknownPriceHint, type Price } from './pricing.js';
import { annotateStream, AnnotationWriter, type AnnotateStreamResult, type FailedSentence } from './annotate.js';
import { countSentences, readSentences } from './input.js';
import type { Demo } from './prompt.js';
import { SELECT_STRATEGIES, selectFromFile, type SelectStrategy } from './select.js';

/** Registers this stage's `nerd` subcommands. */
export function register(program: Command): void {
  registerAnnotateCommand(program);
  registerSimCommand(program);
}

function num(flag: string, { min, integer }: { min?: number; integer?: boolean } = {}) {
  return numberFlag(`--${flag}`, { int: integer, min });
}

interface AnnotateFlags {
  input: string;
  types?: string;
  definitions?: string;
  demos?: string;
  shots: number;
  out: string;
  baseUrl?: string;
  model?: string;
  gguf?: string;
  threads?: number;
  batch: number;
  samples: number;
  temperature?: number;
  minConfidence?: number;
  concurrency: number;
  maxRetries: number;
  timeoutMs: number;
  maxTokens?: number;
  maxCost?: number;
  priceIn?: number;
  priceOut?: number;
  prices?: string;
  dryRun?: boolean;
  cache?: string;
  structured: boolean;
  progress: boolean;
  select?: SelectStrategy;
  selectCount?: number;
  selectModel?: string;
  seed: number;
}

/** Sentences of a corpus file (any format readCorpus knows: CoNLL, JSONL, token JSONL). */
export function loadSentences(file: string): Sentence[] {
  return readCorpus(file).corpus.sentences;
}

function loadDemos(file: string): Demo[] {
  return readCorpus(file).corpus.sentences.map((s) => ({
    tokens: s.tokens,
    spans: s.spans.map((sp) => ({ start: sp.start, end: sp.end, label: sp.label })),
  }));
}

function money(x: number): string {
  return `$${x.toFixed(x < 1 ? 4 : 2)}`;
}

function summary(result: AnnotateStreamResult, out: string): string[] {
  const s = result.stats;
  const reasons = Object.entries(s.rejectedByReason)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ');
  return [
    `annotate: ${s.annotated}/${s.sentences} sentences annotated → ${out}` +
      (s.failed ? `, ${s.failed} failed` : '') +
      (s.pending ? `, ${s.pending} not yet asked` : ''),
    `  requests ${s.requests} (cache hits ${s.cacheHits}, retries ${s.retries}, rate-limited ${s.rateLimited}, timeouts ${s.timeouts}, server errors ${s.serverErrors}, cut off ${s.truncated}, unreadable ${s.parseFailures}, re-asked with feedback ${s.feedbackReasks}, asked again alone ${s.missingFromBatch}, endpoint adaptations ${s.adaptations})`,
    `  tokens this run ${s.promptTokens} in + ${s.completionTokens} out${s.reasoningTokens ? ` (${s.reasoningTokens} of them reasoning)` : ''}, cost ${money(s.costUsd)}${s.priceKnown ? '' : ' (price unknown: counted as 0; pass --price-in/--price-out)'}; from cache ${s.cachedPromptTokens} + ${s.cachedCompletionTokens}`,
    `  rejected entities: ${reasons || 'none'} (hallucinated, i.e. not in the sentence: ${s.hallucinations})`,
  ];
}

function registerAnnotateCommand(program: Command): void {
  program
    .command('annotate')
    .description('Annotate sentences with an LLM teacher (Chain-of-Thought prompt, grounding, voting, cache, budget)')
    .requiredOption('--input <file>', 'sentences to annotate: CoNLL, JSONL or token JSONL (labels in it are ignored)')
    .option(
      '--types <list>',
      'entity types, comma-separated, e.g. PER,ORG,LOC,MISC (default: the types labelled in --demos)',
    )
    .requiredOption(
      '--out <file>',
      'output JSONL, one line per annotated sentence in input order (written atomically at the end)',
    )
    .option(
      '--definitions <file>',
      'YAML/JSON entity type definitions (default: CoNLL-2003 definitions for PER, ORG, LOC, MISC; other types get one written from their name and --demos examples)',
    )
    .option(
      '--demos <file>',
      'human-labelled corpus to draw few-shot demonstrations from (by similarity to each sentence)',
    )
    .option('--shots <n>', 'demonstrations per request', num('shots', { min: 0, integer: true }), 4)
    .option(
      '--base-url <url>',
      'OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1 (key from NERD_API_KEY or OPENAI_API_KEY)',
    )
    .option('--model <name>', 'model name')
    .option('--gguf <file>', 'a local GGUF model file, run embedded through node-llama-cpp')
    .option('--threads <n>', 'with --gguf: CPU threads for llama.cpp', num('threads', { min: 1, integer: true }))
    .option('--batch <n>', 'sentences per request', num('batch', { min: 1, integer: true }), 1)
    .option(
      '--samples <k>',
      'self-consistency: answers drawn per sentence, spans kept by vote',
      num('samples', { min: 1, integer: true }),
      1,
    )
    .option(
      '--temperature <t>',
      'sampling temperature (default 0, or 0.7 with --samples > 1)',
      num('temperature', { min: 0 }),
    )
    .option(
      '--min-confidence <p>',
      'keep spans with at least this share of votes (default: strict majority)',
      num('min-confidence', { min: 0 }),
    )
    .option('--concurrency <n>', 'requests in flight at once', num('concurrency', { min: 1, integer: true }), 4)
    .option(
      '--max-retries <n>',
      'retries of a failed request / re-asks of an unusable answer',
      num('max-retries', { min: 0, integer: true }),
      6,
    )
    .option('--timeout-ms <ms>', 'per-request timeout', num('timeout-ms', { min: 1 }), 120_000)
    .option(
      '--max-tokens <n>',
      'completion-token limit of a first ask (default 400 + 300 per sentence in the batch; doubled on a cut-off answer, up to 4×)',
      num('max-tokens', { min: 1, integer: true }),
    )
    .option(
      '--max-cost <usd>',
      'stop asking before this many USD are spent in this run (rerun to continue)',
      num('max-cost', { min: 0 }),
    )
    .option('--price-in <usd>', 'USD per 1M prompt tokens (overrides the price table)', num('price-in', { min: 0 }))
    .option('--price-out <usd>', 'USD per 1M completion tokens', num('price-out', { min: 0 }))
    .option('--prices <file>', 'YAML/JSON price table {model: {input, output}} in USD per 1M tokens')
    .option('--dry-run', 'estimate requests, tokens and cost; call nothing')
    .option(
      '--cache <file>',
      'SQLite response cache (default: <out>.cache.sqlite); reruns reuse it and pay nothing twice',
    )
    .addOption(new Option('--no-structured', 'do not ask for JSON-schema structured output'))
    .addOption(new Option('--no-progress', 'no progress bar'))
    .option(
      '--select <strategy>',
      "annotate only --select-count sentences of the input, chosen by: first, random, diversity (vocabulary coverage), uncertainty (a student's doubt; --select-model)",
    )
    .option(
      '--select-count <n>',
      'with --select: how many sentences to annotate',
      num('select-count', { min: 1, integer: true }),
    )
    .option('--select-model <dir>', 'with --select uncertainty: the student checkpoint that scores the input')
    .option(
      '--seed <n>',
      'with --select: the seed of its random choices and tie-breaks',
      num('seed', { integer: true }),
      1,
    )
    .addHelpText(
      'after',
      `
Output line (start/end are TOKEN offsets into tokens, end exclusive; charStart/charEnd are added when the
input had text):
  {"id":"...","tokens":["EU","rejects",...],
   "entities":[{"start":0,"end":1,"label":"ORG","text":"EU","confidence":1}],
   "rejected":[{"text":"Brussels","type":"LOC","reason":"not-found"}],
   "teacher":{"model":"gpt-4o-2024-08-06","samples":1}}
Rejection reasons: not-found (hallucinated), unknown-type, occurrence-out-of-range, invalid, type-conflict,
overlap (the longer span wins), below-confidence (--samples). Sentences that failed or were left by a
budget stop are not written; rerun the same command to finish them (cached answers are free).`,
    )
    .action(async (flags: AnnotateFlags) => {
      const demos = flags.demos ? loadDemos(flags.demos) : undefined;
      const types = flags.types ? parseTypes(flags.types) : typesFromLabelled(demos ?? []);
      if (types.length === 0)
        throw new InputError(
          demos
            ? '--types is needed: --demos has no labelled entities to take the types from'
            : '--types is needed (or --demos with labelled entities to take them from)',
          flags.demos,
        );
      if (!flags.types) process.stderr.write(`annotate: types from --demos: ${types.join(', ')}\n`);
      const definitions = definitionsFor(types, {
        file: flags.definitions,
        labelled: demos,
        log: (l) => process.stderr.write(`annotate: ${l}\n`),
      });
      // answers inside a token are aligned as the labelled data does it (spans.ts); default without --demos
      const conventions = demos ? conventionsFromLabelled(demos) : undefined;
      if (flags.minConfidence !== undefined && flags.minConfidence > 1)
        throw new InputError('--min-confidence is a share of votes, between 0 and 1');
      if (flags.samples > 1 && flags.temperature === 0)
        throw new InputError('--samples > 1 needs --temperature above 0 (identical greedy answers cannot vote)');
      if ((flags.priceIn === undefined) !== (flags.priceOut === undefined)) {
        throw new InputError('give both --price-in and --price-out (USD per 1M tokens)');
      }
      if (flags.select !== undefined && !SELECT_STRATEGIES.includes(flags.select))
        throw new InputError(`--select: unknown strategy "${flags.select}" (one of ${SELECT_STRATEGIES.join(', ')})`);
      if ((flags.select === undefined) !== (flags.selectCount === undefined))
        throw new InputError('give both --select and --select-count (how many sentences to choose)');
      if (flags.select === 'uncertainty' && !flags.selectModel)
        throw new InputError(
          '--select uncertainty needs --select-model (a student checkpoint to score the input with)',
        );
      const chosen = flags.select
        ? await selectFromFile(flags.input, {
            strategy: flags.select,
            count: flags.selectCount!,
            seed: flags.seed,
            ...(flags.selectModel ? { model: flags.selectModel } : {}),
            threads: flags.threads,
            log: (l) => process.stderr.write(`${l}\n`),
          })
        : undefined;
      const total = chosen ? chosen.length : await countSentences(flags.input);
      if (total === 0) throw new InputError('no sentences in the input', flags.input);
      const prices = flags.prices ? loadPrices(flags.prices) : undefined;
      const price: Price | undefined =
        flags.priceIn !== undefined ? { input: flags.priceIn, output: flags.priceOut! } : undefined;
      const provider = await createProvider(flags);
      const cache = flags.cache ?? `${flags.out}.cache.sqlite`;
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const secrets = [apiKeyFromEnv()];
      if (!demos)
        log(
          'annotate: no --demos given: zero-shot prompts (few-shot demonstrations usually help; pass a labelled corpus)',
        );
      if (!price && provider.kind !== 'llama-cpp' && !priceFor(provider.model, prices).known) {
        if (flags.maxCost !== undefined) {
          await provider.close?.();
          throw new InputError(unknownPriceHint(provider.model));
        }
        log(
          `annotate: no price known for model "${provider.model}": cost counted as 0 (pass --price-in/--price-out or --prices)`,
        );
      }
      // Ctrl-C: stop asking, write what is done, say how to resume (a second Ctrl-C exits at once)
      const stop = new AbortController();
      const onSigint = () => {
        log(
          'annotate: interrupted — finishing the answers in flight and writing what is done (Ctrl-C again to quit now)',
        );
        stop.abort();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', onSigint);
      const writer = flags.dryRun ? undefined : new AnnotationWriter(flags.out);
      let firstFailed: FailedSentence | undefined;
      try {
        const result = await annotateStream({
          signal: stop.signal,
          input: chosen ?? readSentences(flags.input),
          total,
          onSentence: (a) => writer?.write(a),
          onFailed: (f) => {
            firstFailed ??= f;
          },
          definitions,
          provider,
          ...(demos ? { demos } : {}),
          ...(conventions ? { conventions } : {}),
          shots: flags.shots,
          batch: flags.batch,
          samples: flags.samples,
          ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
          ...(flags.minConfidence !== undefined ? { minConfidence: flags.minConfidence } : {}),
          concurrency: flags.concurrency,
          maxRetries: flags.maxRetries,
          timeoutMs: flags.timeoutMs,
          ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
          ...(flags.maxCost !== undefined ? { maxCost: flags.maxCost } : {}),
          ...(price ? { price } : {}),
          ...(prices ? { prices } : {}),
          structured: flags.structured,
          cache,
          dryRun: flags.dryRun ?? false,
          progress: flags.progress,
          log,
        });
        if (result.estimate) {
          const e = result.estimate;
          log(
            `annotate --dry-run: ${total} sentences → ${e.requests} requests to make (${e.cachedRequests} already in the cache ${cache}); ` +
              `estimated ${e.promptTokens} prompt + ${e.completionTokens} completion tokens, ${money(e.costUsd)}` +
              (e.priceKnown ? ` at $${e.price.input}/$${e.price.output} per 1M tokens` : ' (price unknown: 0)') +
              '. Estimates: characters/4 for prompts, ~90 completion tokens per sentence; retries and re-asks not included.',
          );
          return;
        }
        writer?.commit();
        for (const line of summary(result, flags.out)) log(scrubSecrets(line, secrets));
        if (result.stats.simulated)
          log('annotate: these annotations come from nerd teacher-sim (SIMULATED), not a real LLM.');
        const again = `rerun the same command to continue: cached answers are reused for free and only what is missing is asked (cache: ${cache})`;
        if (result.stoppedBy === 'budget') {
          throw oneLine(
            `budget of ${money(flags.maxCost!)} reached: ${result.stats.annotated} sentences written, ${result.stats.pending} not yet asked; ${again}, with a new --max-cost for the extra spend`,
          );
        }
        if (result.stoppedBy === 'cancelled')
          throw oneLine(
            `interrupted: ${result.stats.annotated} sentences written, ${result.stats.pending} not yet done; ${again}`,
          );
        if (result.stoppedBy === 'fatal')
          throw oneLine(
            scrubSecrets(
              `stopped: ${result.fatalError}; ${result.stats.annotated} sentences written; ${again}`,
              secrets,
            ),
          );
        if (result.stats.failed > 0 && firstFailed) {
          const first = firstFailed;
          throw oneLine(
            scrubSecrets(
              `${result.stats.failed} sentences could not be annotated (first: ${first.id}: ${first.reason}); they are not in ${flags.out}; ${again}`,
              secrets,
            ),
          );
        }
      } finally {
        writer?.abort(); // after commit(): nothing left to drop
        process.removeListener('SIGINT', onSigint);
        await provider.close?.();
      }
    });
}

/** an error the CLI prints as one line (no stack): the message says everything */
function oneLine(message: string): Error {
  const err = new Error(message);
  err.stack = message;
  return err;
}
