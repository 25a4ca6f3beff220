/**
 * teacher-sim's endpoint-behaviour profiles: which requests a profile refuses, with the real endpoint's
 * error body shape, the reasoning tokens the reasoning profile spends, and the SSE body of a streamed answer.
 *
 * The profiles (TeacherSimOptions.profile):
 *   openai     (default) takes every parameter the client sends.
 *   reasoning  like OpenAI's o1/o3/o4-mini/gpt-5: 400 `unsupported_parameter` (param "max_tokens") to
 *              max_tokens, 400 `unsupported_value` (param "temperature") to a temperature other than 1;
 *              hidden reasoning tokens (reported in usage.completion_tokens_details.reasoning_tokens and
 *              included in completion_tokens) come out of max_completion_tokens first: a limit they
 *              exhaust gives an empty answer with finish_reason "length", as the real models do.
 *   gemini     like Gemini's OpenAI-compatible endpoint: 400 to `seed`, as a top-level JSON array
 *              [{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"seed\" ...",
 *              "status":"INVALID_ARGUMENT", ...}}].
 *   stream-only  like streaming-only models (DashScope's QwQ): 400 "This model only support stream mode,
 *              please enable the stream parameter ..." to a plain request; `stream: true` gets SSE chunks,
 *              with a usage chunk when stream_options.include_usage is set.
 */
export const SIM_PROFILES = ['openai', 'reasoning', 'gemini', 'stream-only'] as const;
export type SimProfile = (typeof SIM_PROFILES)[number];

/** the request body of POST /v1/chat/completions, as far as teacher-sim reads it */
export interface ChatBody {
  model?: unknown;
  messages?: unknown;
  temperature?: unknown;
  seed?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  response_format?: { type?: unknown; json_schema?: { schema?: unknown } };
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
}

/** the reasoning tokens the reasoning profile "thinks" before answering a prompt of `promptTokens` */
export function reasoningTokensFor(promptTokens: number): number {
  return 200 + Math.ceil(promptTokens / 2);
}

/** the 400 a profile answers to `body`, or undefined when it takes the request (shapes: see the file top) */
export function profileRefusal(profile: SimProfile, body: ChatBody): { body: unknown } | undefined {
  const openaiError = (message: string, param: string | null, code: string) => ({
    body: { error: { message, type: 'invalid_request_error', param, code } },
  });
  if (profile === 'reasoning') {
    if (body.max_tokens !== undefined) {
      return openaiError(
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        'max_tokens',
        'unsupported_parameter',
      );
    }
    if (body.temperature !== undefined && body.temperature !== 1) {
      return openaiError(
        `Unsupported value: 'temperature' does not support ${String(body.temperature)} with this model. Only the default (1) value is supported.`,
        'temperature',
        'unsupported_value',
      );
    }
  }
  if (profile === 'gemini' && body.seed !== undefined) {
    const message = 'Invalid JSON payload received. Unknown name "seed": Cannot find field.';
    return {
      body: [
        {
          error: {
            code: 400,
            message,
            status: 'INVALID_ARGUMENT',
            details: [
              { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ description: message }] },
            ],
          },
        },
      ],
    };
  }
  if (profile === 'stream-only' && body.stream !== true) {
    return {
      body: {
        error: {
          code: 'invalid_parameter_error',
          param: null,
          message: 'This model only support stream mode, please enable the stream parameter to access the model. ',
          type: 'invalid_request_error',
        },
        request_id: 'sim',
      },
    };
  }
  return undefined;
}

/** an answer as server-sent events, the way OpenAI streams chat completions */
export function sseBody(id: string, model: string, content: string, finishReason: unknown, usage: unknown): string {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: unknown, finish: unknown, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra })}\n\n`;
  const parts: string[] = [chunk({ role: 'assistant', content: '' }, null)];
  for (let i = 0; i < content.length; i += 64) parts.push(chunk({ content: content.slice(i, i + 64) }, null));
  parts.push(chunk({}, finishReason));
  if (usage)
    parts.push(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
    );
  parts.push('data: [DONE]\n\n');
  return parts.join('');
}
