/**
 * `nerd teacher-sim` as a library: a local OpenAI-compatible HTTP server (fastify) that answers like an
 * LLM teacher from a gold corpus, through a documented noise model (./README.md, ./noise.ts).
 *
 *   POST /v1/chat/completions   chat completions, `response_format` json_schema honoured; SSE streaming
 *                               (`stream: true`) under the stream-only profile
 *   GET  /v1/models             the one (simulated) model
 *   GET  /stats                 counters: requests, answers, faults injected by kind (SimStats)
 *
 * Endpoint-behaviour profiles (`profile`: openai, reasoning, gemini, stream-only), each answering with the
 * real endpoint's error body shape, are described in ./profiles.ts.
 * Quirks on top of any profile: `finishReason` ("omit" leaves it out, "null", or a spelling such as
 * "eos_token"/"end" replaces "stop"); `htmlBodyRate`: that share of requests gets a 200 whose body is an
 * HTML page sent as application/json, like a misconfigured proxy. An unreachable endpoint needs no
 * profile: it is a closed port.
 *
 * Every answer's `model` starts with "SIMULATED-teacher", and startup prints that this is a simulation.
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { answerObject, formatPlain, planAnswer, reasoningText, type SentenceAnswer } from './answer.js';
import { believe, sampleKey } from './believe.js';
import { newStats, type FaultKind, type SimStats } from './stats.js';
import { profileRefusal, reasoningTokensFor, sseBody, type ChatBody, type SimProfile } from './profiles.js';
import { findSentences, type ChatMessageLike } from './find.js';
import { SIM_MODEL_PREFIX } from '../providers/types.js';
import { indexGold, loadGold, type GoldCorpus, type GoldSentence } from './gold.js';
import { resolveNoise, type NoiseModel } from './noise.js';
import { Rng } from './rng.js';

export interface TeacherSimOptions {
  /** a gold corpus: a CoNLL / JSONL file path, or sentences already in memory */
  gold: string | GoldCorpus | GoldSentence[];
  /** default 0 (any free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** a preset ("default", "none"), a JSON file, or partial rates on top of the defaults */
  noise?: string | Partial<NoiseModel>;
  /** individual overrides applied last (e.g. from CLI flags) */
  noiseOverrides?: Partial<NoiseModel>;
  /** seeds every draw (default 0) */
  seed?: number;
  /** when set, requests must carry `Authorization: Bearer <apiKey>`; a wrong key gets a 401 that echoes it
   *  back in full (deliberately, like the worst real gateways) so clients' key scrubbing can be tested */
  apiKey?: string;
  /** answer 400 to `response_format: json_schema`, like servers without structured output */
  rejectStructuredOutput?: boolean;
  /** answer 400 to `max_tokens`, like OpenAI's newer models that want `max_completion_tokens` */
  requireMaxCompletionTokens?: boolean;
  /** leave `usage` out of answers, like some local servers */
  omitUsage?: boolean;
  /** endpoint behaviour (see ./profiles.ts; default "openai") */
  profile?: SimProfile;
  /** how a complete answer's finish_reason is written: "omit", "null", or a string in place of "stop" */
  finishReason?: string;
  /** share of requests answered 200 with an HTML page as application/json (drawn per request and attempt) */
  htmlBodyRate?: number;
  /** where to print the start-up banner (default: stderr); null for silence */
  log?: ((line: string) => void) | null;
}

export interface TeacherSim {
  /** base URL for an OpenAI client, ending in /v1 */
  url: string;
  /** the live counters (also served at GET /stats) */
  stats: SimStats;
  noise: NoiseModel;
  corpus: GoldCorpus;
  close(): Promise<void>;
}

export { SIM_MODEL_PREFIX };
const BANNER =
  'nerd teacher-sim: this is a SIMULATED teacher answering from a gold corpus with injected noise, not an LLM';

/** Approximate token count, as documented: ceil(characters / 4), plus 4 per chat message for roles. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export async function startTeacherSim(options: TeacherSimOptions): Promise<TeacherSim> {
  const corpus =
    typeof options.gold === 'string'
      ? loadGold(options.gold)
      : Array.isArray(options.gold)
        ? indexGold(options.gold)
        : options.gold;
  const noise = resolveNoise(options.noise, options.noiseOverrides);
  const seed = options.seed ?? 0;
  const stats = newStats();
  const count = (kind: FaultKind) => {
    stats.faults[kind] = (stats.faults[kind] ?? 0) + 1;
  };
  /** attempts seen per request content, so that a retry draws new format/HTTP noise */
  const attempts = new Map<string, number>();

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true });

  const send = (reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) => {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    return reply.code(status).headers(headers).send(body);
  };
  const apiError = (
    reply: FastifyReply,
    status: number,
    message: string,
    type: string,
    headers?: Record<string, string>,
  ) => send(reply, status, { error: { message, type, param: null, code: type } }, headers);

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: `${SIM_MODEL_PREFIX}`, object: 'model', created: 0, owned_by: 'nerd-teacher-sim (SIMULATED)' }],
  }));
  app.get('/stats', async () => ({
    ...stats,
    noise,
    gold: { source: corpus.source, sentences: corpus.sentences.length },
  }));

  app.post('/v1/chat/completions', async (request, reply) => {
    stats.requests++;
    if (options.apiKey !== undefined) {
      const auth = String(request.headers.authorization ?? '');
      const given = auth.replace(/^Bearer\s+/i, '');
      if (given !== options.apiKey) {
        return apiError(
          reply,
          401,
          `Incorrect API key provided: ${given}. (teacher-sim echoes keys on purpose)`,
          'invalid_api_key',
        );
      }
    }
    const body = (request.body ?? {}) as ChatBody;
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return apiError(reply, 400, "'messages' must be a non-empty array", 'invalid_request_error');
    }
    const profile = options.profile ?? 'openai';
    const refusal = profileRefusal(profile, body);
    if (refusal) {
      stats.refusedParams++;
      return send(reply, 400, refusal.body);
    }
    if (body.stream === true && profile !== 'stream-only') {
      return apiError(reply, 400, 'teacher-sim does not stream; send stream: false', 'invalid_request_error');
    }
    const structured = body.response_format?.type === 'json_schema';
    if (structured && options.rejectStructuredOutput) {
      return apiError(
        reply,
        400,
        "response_format 'json_schema' is not supported by this server",
        'invalid_request_error',
      );
    }
    if (options.requireMaxCompletionTokens && body.max_tokens !== undefined) {
      return apiError(
        reply,
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        'unsupported_parameter',
      );
    }
    const messages = body.messages as ChatMessageLike[];
    const temperature = typeof body.temperature === 'number' ? body.temperature : 1;
    const reqSeed = typeof body.seed === 'number' ? body.seed : undefined;
    const maxTokensRaw = body.max_completion_tokens ?? body.max_tokens;
    const maxTokens = typeof maxTokensRaw === 'number' && maxTokensRaw > 0 ? maxTokensRaw : Infinity;

    // format and HTTP noise: keyed by request content and attempt number
    const contentHash = createHash('sha256')
      // the sample key, not the raw seed: at temperature 0 the seed changes nothing
      .update(JSON.stringify([messages, sampleKey(temperature, reqSeed), maxTokensRaw ?? null, structured]))
      .digest('hex');
    const attempt = attempts.get(contentHash) ?? 0;
    attempts.set(contentHash, attempt + 1);
    const rng = new Rng(`${seed}|attempt|${contentHash}|${attempt}`);

    let delay = noise.latencyMs;
    if (rng.chance(noise.slowRate)) {
      delay += noise.slowMs;
      count('slow');
    }
    await sleep(delay);
    if (rng.chance(noise.rateLimitRate)) {
      count('rate_limit');
      return apiError(
        reply,
        429,
        'Rate limit reached for requests (SIMULATED by nerd teacher-sim)',
        'rate_limit_exceeded',
        {
          'retry-after': String(noise.retryAfterS),
          'retry-after-ms': String(Math.round(noise.retryAfterS * 1000)),
        },
      );
    }
    if (rng.chance(noise.serverErrorRate)) {
      count('server_error');
      return apiError(reply, 500, 'The server had an error while processing your request (SIMULATED)', 'server_error');
    }
    if (options.htmlBodyRate && rng.chance(options.htmlBodyRate)) {
      stats.statuses['200-html'] = (stats.statuses['200-html'] ?? 0) + 1;
      return reply
        .code(200)
        .header('content-type', 'application/json')
        .send(
          '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx (SIMULATED by nerd teacher-sim)</center></body></html>',
        );
    }

    const promptText = messages
      .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
      .join('\n');
    const found = findSentences(messages, corpus);
    if (found.length === 0 || found.every((f) => !f.gold)) stats.unknownRequests++;
    const sample = sampleKey(temperature, reqSeed);
    const answers: SentenceAnswer[] = [];
    for (const f of found) {
      if (found.length > 1) {
        const dropRng = new Rng(`${seed}|drop|${f.gold?.tokens.join(' ') ?? f.text}|${sample}`);
        if (dropRng.chance(noise.dropSentenceRate)) {
          count('dropped_sentence');
          continue;
        }
      }
      const believed = f.gold
        ? believe(f.gold, corpus, noise, seed, sample, count)
        : { entities: [], reasoning: ['(This sentence is not in my gold corpus, so I answer no entities.)'] };
      if (f.gold) stats.sentenceRequests[f.gold.index] = (stats.sentenceRequests[f.gold.index] ?? 0) + 1;
      answers.push({ found: f, believed });
    }
    stats.sentencesAnswered += answers.length;

    const schema = body.response_format?.json_schema?.schema;
    const plan = planAnswer(schema, promptText, found.length);
    const reasoning = reasoningText(answers, corpus.types);
    let content: string;
    let finishReason: 'stop' | 'length';
    if (structured) {
      content = JSON.stringify(answerObject(answers, plan, reasoning, { noise, rng, count }));
      finishReason = 'stop';
      if (rng.chance(noise.lengthCutoffRate)) {
        count('length_cutoff');
        content = content.slice(0, Math.floor(content.length * (0.3 + 0.6 * rng.next())));
        finishReason = 'length';
      }
      stats.structuredAnswers++;
    } else {
      ({ content, finishReason } = formatPlain(
        reasoning,
        answerObject(answers, plan, undefined, { noise, rng, count }),
        answers,
        noise,
        rng,
        count,
      ));
    }
    const promptTokens = approxTokens(promptText) + 4 * messages.length;
    // the reasoning profile thinks first, out of the same completion budget
    const reasoningTokens = profile === 'reasoning' ? Math.min(reasoningTokensFor(promptTokens), maxTokens) : 0;
    const answerBudget = maxTokens - reasoningTokens;
    if (approxTokens(content) > answerBudget) {
      content = content.slice(0, Math.max(0, answerBudget) * 4);
      finishReason = 'length';
      count('max_tokens_cutoff');
    }
    const completionTokens = approxTokens(content) + reasoningTokens;
    stats.promptTokens += promptTokens;
    stats.completionTokens += completionTokens;
    stats.reasoningTokens += reasoningTokens;
    stats.answers++;
    stats.paidAnswers++;
    const requested = typeof body.model === 'string' ? body.model : 'unnamed';
    const id = `chatcmpl-sim-${contentHash.slice(0, 16)}-${attempt}`;
    const model = `${SIM_MODEL_PREFIX}(${requested})`;
    const fr = options.finishReason;
    const writtenFinish =
      finishReason === 'stop' && fr !== undefined ? (fr === 'null' || fr === 'omit' ? null : fr) : finishReason;
    const usage = options.omitUsage
      ? undefined
      : {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          ...(profile === 'reasoning' ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
        };
    if (body.stream === true) {
      stats.statuses[200] = (stats.statuses[200] ?? 0) + 1;
      const withUsage = body.stream_options?.include_usage === true ? usage : undefined;
      return reply
        .code(200)
        .header('content-type', 'text/event-stream')
        .send(sseBody(id, model, content, writtenFinish, withUsage));
    }
    const choice: Record<string, unknown> = {
      index: 0,
      message: { role: 'assistant', content, refusal: null },
      logprobs: null,
    };
    if (!(finishReason === 'stop' && fr === 'omit')) choice.finish_reason = writtenFinish;
    return send(reply, 200, {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      system_fingerprint: 'nerd-teacher-sim',
      choices: [choice],
      ...(usage ? { usage } : {}),
    });
  });

  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const url = `${address.replace('[::1]', '127.0.0.1')}/v1`;
  const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log;
  log?.(
    `${BANNER}\n  listening on ${url} · gold ${corpus.source} (${corpus.sentences.length} sentences) · seed ${seed}`,
  );
  return {
    url,
    stats,
    noise,
    corpus,
    close: async () => {
      await app.close();
    },
  };
}
