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

/** refuse to listen beyond loopback without a token; returns the token to use (flag, then env) */
export function checkExposure(host: string, token: string | undefined, command: string): string | undefined {
  const t = token || process.env.NERD_TOKEN || undefined;
  if (t !== undefined && t.length < 16) {
    throw new InputError(`${command}: the bearer token must be at least 16 characters long (got ${t.length})`);
  }
  if (!isLoopbackHost(host) && !t) {
    throw new InputError(
      `${command}: --host ${host} would expose the server beyond this machine; pass --token T (or set NERD_TOKEN) ` +
        'so that every request must carry "Authorization: Bearer T"',
    );
  }
  return t || undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
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
      const pos = /position (\d+)/.exec(msg);
      let where = '';
      if (pos) {
        const p = Number(pos[1]);
        const before = text.slice(0, p);
        const line = before.split('\n').length;
        const column = p - before.lastIndexOf('\n');
        where = ` (line ${line}, column ${column})`;
      }
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
    void reply
      .code(404)
      .send({ statusCode: 404, error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  const loopback = isLoopbackHost(setup.host);
  const want = setup.token ? digest(setup.token) : undefined;
  app.addHook('onRequest', async (request, reply) => {
    if (loopback) {
      const hostHeader = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(hostHeader)) {
        throw new HttpError(403, 'forbidden_host', `Host ${JSON.stringify(request.headers.host ?? '')} is not a loopback name`);
      }
    }
    if (!want || setup.open?.(request.url)) return;
    const auth = request.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m || !timingSafeEqual(digest(m[1]!), want)) {
      void reply.header('www-authenticate', 'Bearer realm="nerd"');
      throw new HttpError(401, 'unauthorized', m ? 'bearer token is wrong' : 'this server requires "Authorization: Bearer <token>"');
    }
  });
}
