/**
 * What the API server and the review page share: JSON errors in one shape, a JSON body parser whose errors
 * say where the JSON broke, bearer-token auth, and the loopback rules (loopback by default; any other
 * address needs a token; on loopback, Host headers other than loopback names are refused so a web page
 * cannot reach the server through DNS rebinding).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InputError } from '../errors.js';
import { jsonErrorPosition } from '../files.js';

/** every error the servers send: `{"statusCode": 400, "error": "bad_json", "message": "..."}` */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/**
 * Refuse to listen beyond loopback without a token; returns the token to use (flag, then env). Any token
 * of 16+ printable characters works, spaces and non-ASCII included; one that could not arrive intact in
 * an Authorization header (control characters, leading or trailing whitespace, which HTTP strips) is
 * refused here, at start, with one line.
 */
export function checkExposure(host: string, token: string | undefined, command: string): string | undefined {
  const t = token || process.env.NERD_TOKEN || undefined;
  const from = token ? '--token' : 'NERD_TOKEN';
  if (t !== undefined && [...t].length < 16) {
    throw new InputError(
      `${command}: the bearer token (${from}) must be at least 16 characters long (got ${[...t].length})`,
    );
  }
  if (t !== undefined) {
    const bad = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.exec(t);
    if (bad) {
      const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw new InputError(
        `${command}: the bearer token (${from}) contains the control character U+${code} at position ${bad.index + 1}; use printable characters only`,
      );
    }
    if (t !== t.trim()) {
      throw new InputError(
        `${command}: the bearer token (${from}) starts or ends with whitespace, which HTTP strips from headers; remove it`,
      );
    }
  }
  if (!isLoopbackHost(host) && !t) {
    throw new InputError(
      `${command}: --host ${host} would expose the server beyond this machine; pass --token T (or set NERD_TOKEN) ` +
        'so that every request must carry "Authorization: Bearer T"',
    );
  }
  return t || undefined;
}

function digest(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/**
 * Header values reach Node as one character per byte (latin1). A client sends a non-ASCII token as UTF-8
 * (curl, most libraries) or, where every character fits in a byte, as latin1 (fetch/undici): both match.
 * Comparison is over SHA-256 digests of the bytes, with timingSafeEqual, always against both forms.
 */
function tokenMatcher(token: string): (headerToken: string) => boolean {
  const utf8 = digest(Buffer.from(token, 'utf8'));
  // a token with characters beyond U+00FF has no latin1 form: compare against the UTF-8 one twice
  const latin1 = /^[\u0000-\u00ff]*$/.test(token) ? digest(Buffer.from(token, 'latin1')) : utf8;
  return (headerToken) => {
    const got = digest(Buffer.from(headerToken, 'latin1'));
    const a = timingSafeEqual(got, utf8);
    const b = timingSafeEqual(got, latin1);
    return a || b;
  };
}

export interface HttpSetup {
  host: string;
  /** bearer token every request (except the `open` paths) must carry */
  token?: string;
  /** paths that need no token (static page assets that hold no data) */
  open?: (url: string) => boolean;
}

/** installs the JSON parser, the error shape, the loopback Host check and the auth hook */
export function setupHttp(app: FastifyInstance, setup: HttpSetup): void {
  // JSON only: a text/plain POST (which a web page may send cross-site without a preflight) gets 415
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(new HttpError(400, 'bad_json', 'request body is empty; send a JSON object'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      let msg = err instanceof Error ? err.message : String(err);
      // V8 quotes the whole body in some messages: keep the answer short
      if (msg.length > 240) msg = `${msg.slice(0, 237)}...`;
      const pos = jsonErrorPosition(text, err);
      const where = pos ? ` (line ${pos.line}, column ${pos.column})` : '';
      done(new HttpError(400, 'bad_json', `request body is not valid JSON${where}: ${msg}`), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      void reply.code(err.statusCode).send({ statusCode: err.statusCode, error: err.code, message: err.message });
      return;
    }
    const status = err.statusCode ?? 500;
    let code = 'internal_error';
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'body_too_large';
      message = `request body is larger than the limit of ${app.initialConfig.bodyLimit} bytes; send fewer or shorter texts per request`;
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'unsupported_media_type';
      message = `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send "Content-Type: application/json"`;
    } else if (status >= 400 && status < 500) {
      code = err.code ? err.code.replace(/^FST_ERR_/, '').toLowerCase() : 'bad_request';
    } else {
      request.log.error(err);
      message = `internal error: ${err.message}`;
    }
    void reply.code(status).send({ statusCode: status, error: code, message });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      statusCode: 404,
      error: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    });
  });

  const loopback = isLoopbackHost(setup.host);
  const want = setup.token ? tokenMatcher(setup.token) : undefined;
  app.addHook('onRequest', async (request, reply) => {
    if (loopback) {
      const hostHeader = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(hostHeader)) {
        throw new HttpError(
          403,
          'forbidden_host',
          `Host ${JSON.stringify(request.headers.host ?? '')} is not a loopback name`,
        );
      }
    }
    if (!want || setup.open?.(request.url)) return;
    const auth = request.headers.authorization ?? '';
    // everything after the scheme is the token (it may contain spaces); Node already trimmed the ends
    const m = /^Bearer +(.+)$/is.exec(auth);
    if (!m || !want(m[1]!)) {
      void reply.header('www-authenticate', 'Bearer realm="nerd"');
      throw new HttpError(
        401,
        'unauthorized',
        m ? 'bearer token is wrong' : 'this server requires "Authorization: Bearer <token>"',
      );
    }
  });
}
