/**
 * Bounded work per reply at the HTTP layer: a fetch that refuses a body over `maxBytes` (by its
 * Content-Length up front, else while it streams in), so a hostile or broken server cannot make the client
 * buffer 50 MB; and the classification of network failures that no retry can fix.
 *
 * Error bodies are also normalised here: Gemini's OpenAI-compatible endpoint sends its errors as a JSON
 * array (`[{"error": {...}}]`), of which the openai SDK reads nothing (its message becomes "400 status code
 * (no body)"); the first element is passed on instead, so the error's message reaches the client.
 */

/** A reply body past the size limit (no retry: the same server would send the same body). */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the response body is larger than ${maxBytes} bytes (the limit for one reply)`);
    this.name = 'BodyTooLargeError';
  }
}

/** default limit of one reply: far above any real answer (a few KB), far below a memory problem */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function limitedFetch(maxBytes: number, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new BodyTooLargeError(maxBytes);
    }
    if (!res.body) return res;
    let seen = 0;
    const limited = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(new BodyTooLargeError(maxBytes));
          else controller.enqueue(chunk);
        },
      }),
    );
    const headers = new Headers(res.headers);
    headers.delete('content-length'); // the body below is fetch's decoded one
    headers.delete('content-encoding');
    if (res.status >= 400) {
      const text = await new Response(limited).text();
      return new Response(unwrapErrorArray(text), { status: res.status, statusText: res.statusText, headers });
    }
    return new Response(limited, { status: res.status, statusText: res.statusText, headers });
  };
}

/** `[{"error": ...}, ...]` → `{"error": ...}`; any other body unchanged */
export function unwrapErrorArray(text: string): string {
  if (!text.trimStart().startsWith('[')) return text;
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v[0] && typeof v[0] === 'object' && 'error' in v[0]) return JSON.stringify(v[0]);
  } catch {
    /* not JSON: as it is */
  }
  return text;
}

/** the error and its causes, outermost first (fetch nests the system error two levels down) */
export function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, depth = 0; e && depth < 6; depth++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * Why `err` says the address itself is wrong or down — connection refused, DNS failure, TLS failure — or
 * undefined for failures a retry may fix (resets, timeouts).
 */
export function unreachableCause(err: unknown): string | undefined {
  // an AggregateError (e.g. "localhost" tried as ::1 and 127.0.0.1) carries its errors in `errors`
  const all = causeChain(err).flatMap((e) => [
    e,
    ...(((e as { errors?: unknown }).errors as unknown[] | undefined) ?? []),
  ]);
  for (const e of all) {
    // fetch refuses ports on its blocklist (e.g. 9, 25, 6000) before connecting
    if (e instanceof Error && e.message === 'bad port')
      return 'the port is on fetch\'s list of blocked ports ("bad port")';
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (UNREACHABLE[code]) return `${UNREACHABLE[code]} (${code})`;
    if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code)) return `TLS failure (${code})`;
  }
  return undefined;
}
