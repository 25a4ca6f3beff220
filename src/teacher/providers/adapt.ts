/**
 * Endpoint capability adaptation: reading a 400/422 that names a request parameter and deciding how to
 * change the request so that the endpoint takes it. The error shapes read here are the real endpoints'
 * (as quoted in public issue threads):
 *
 *   OpenAI reasoning models (o1/o3/o4-mini/gpt-5):
 *     {"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use
 *      'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens",
 *      "code":"unsupported_parameter"}}
 *     {"error":{"message":"Unsupported value: 'temperature' does not support 0 with this model. Only the
 *      default (1) value is supported.","type":"invalid_request_error","param":"temperature",
 *      "code":"unsupported_value"}}
 *   Gemini's OpenAI-compatible endpoint (a top-level array, several fields at once):
 *     [{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"seed\": Cannot find
 *      field.","status":"INVALID_ARGUMENT","details":[...]}}]
 *   Streaming-only models (Alibaba DashScope's QwQ, for one):
 *     {"error":{"code":"invalid_parameter_error","param":null,"message":"This model only support stream
 *      mode, please enable the stream parameter to access the model. ","type":"invalid_request_error"}}
 *
 * Rules, in order (the first that changes something wins; nothing changes → the error stands):
 *   1. `max_tokens` refused in favour of `max_completion_tokens` → rename it (and mark a reasoning model:
 *      that is the OpenAI reasoning models' signature).
 *   2. A refused parameter named by `param` or in the message (`'x'`, `"x"`, `Unknown name "x"`) among
 *      the optional ones (temperature, seed, top_p, response_format, ...) that was sent → drop it; several
 *      named at once are all dropped. A refused temperature whose message says only the default (1) is
 *      supported also marks a reasoning model.
 *   3. The refusal signal of streaming-only servers — a message that says only streaming/stream mode is
 *      supported, or asks to enable the stream parameter, or `param: "stream"` on a plain request → stream.
 *      (`param: "stream"` on a streamed request → stop streaming.)
 *   4. Structured output was asked for and nothing above matched → drop response_format (servers word their
 *      refusal of json_schema in many ways, or not at all).
 */
import type { EndpointQuirks } from './types.js';

/** parameters a request can do without */
export const DROPPABLE = [
  'temperature',
  'seed',
  'top_p',
  'response_format',
  'frequency_penalty',
  'presence_penalty',
  'stream_options',
] as const;

export interface Refusal {
  status: number;
  /** the error's `param` field, if any */
  param?: string | null;
  /** the error message and the raw body, as text */
  text: string;
}

export interface Adaptation {
  quirks: EndpointQuirks;
  /** what changed, for the log: e.g. "dropped seed" */
  note: string;
}

function mentions(text: string, name: string): boolean {
  // 'seed', "seed", \"seed\", `seed`, or the bare word next to "parameter"/"field"/"value"
  const q = `['"\`]${name}\\\\?['"\`]`;
  return (
    new RegExp(q).test(text) || new RegExp(`\\b(?:parameter|field|argument|name)s?:?\\s+${name}\\b`, 'i').test(text)
  );
}

const STREAM_ONLY =
  /only supports? stream|stream(?:ing)? mode only|stream(?:ing)? (?:is )?required|must (?:be )?stream|enable the stream parameter|requires? stream/i;

/**
 * How to change requests after `refusal` of a request whose body had the keys `sent`, or undefined when
 * the refusal names nothing this can fix.
 */
export function adapt(refusal: Refusal, sent: Record<string, unknown>, quirks: EndpointQuirks): Adaptation | undefined {
  if (refusal.status !== 400 && refusal.status !== 422) return undefined;
  const { text } = refusal;
  const param = refusal.param ?? undefined;
  const drop = new Set(quirks.drop ?? []);
  const next = (q: Partial<EndpointQuirks>, note: string): Adaptation => ({ quirks: { ...quirks, ...q }, note });

  if (
    sent.max_tokens !== undefined &&
    (param === 'max_tokens' || /max_completion_tokens/.test(text) || mentions(text, 'max_tokens'))
  ) {
    return next({ maxTokensParam: 'max_completion_tokens', reasoning: true }, 'max_tokens → max_completion_tokens');
  }
  const named = DROPPABLE.filter((k) => sent[k] !== undefined && !drop.has(k) && (param === k || mentions(text, k)));
  if (named.length > 0) {
    const reasoning = named.includes('temperature') && /only the default \(1\)/i.test(text);
    return next(
      { drop: [...drop, ...named], ...(reasoning ? { reasoning: true } : {}) },
      `dropped ${named.join(', ')}`,
    );
  }
  if (!sent.stream && (STREAM_ONLY.test(text) || param === 'stream'))
    return next({ stream: true }, 'streaming (the endpoint answers only stream: true)');
  if (sent.stream && param === 'stream') return next({ stream: false }, 'not streaming');
  if (sent.response_format !== undefined && !drop.has('response_format')) {
    return next({ drop: [...drop, 'response_format'] }, 'dropped response_format (structured output refused)');
  }
  return undefined;
}
