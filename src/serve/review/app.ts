/**
 * `nerd review`'s HTTP side: the page (plain HTML + JS + CSS from ./page/, no build step) and a small JSON
 * API over the review store. Every POST saves at once (one SQLite transaction) before it answers.
 *
 *   GET  /                         the page
 *   GET  /api/meta                 types, colours, counts, whether a student model is loaded
 *   GET  /api/queue?status=todo    sentences by doubt: [{id, key, doubt, reasons, status, preview}]
 *   GET  /api/sentences/:key       one sentence: tokens, teacher/student/rejected entities, review state
 *   POST /api/sentences/:key/actions {"version": n, "action": {"type": "set-span", ...}}  → new state
 *   GET  /api/export?format=conll|jsonl  the reviewed sentences as human-labelled data
 *
 * A sentence's `key` is a fixed-length hash of its id (store.ts `keyOf`): ids can be any length and hold
 * any character (CoNLL ids embed the data file's path), which a URL path segment should not have to carry.
 * No response may be framed by another page (CSP frame-ancestors 'none', X-Frame-Options DENY): a framed
 * review page could be clicked through by the framing site.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { ActionError, parseAction } from './actions.js';
import { exportReviewed, type ExportFormat } from './export.js';
import { HttpError, setupHttp } from '../http.js';
import { pageFile } from './page/index.js';
import { type ReviewStore, VersionConflict, keyOf } from './store.js';

/** colours for entity types, in the order types appear (dark text stays readable on all of them) */
export const PALETTE = [
  '#f6a5a5',
  '#8fc9f9',
  '#a8e6a1',
  '#ffd27f',
  '#d3b0f5',
  '#f7e98e',
  '#9fe3dc',
  '#f5b3de',
  '#c9c9c9',
];

export interface ReviewAppOptions {
  store: ReviewStore;
  host?: string;
  token?: string;
  /** label for the page header, e.g. the data file's name */
  title?: string;
  /** whether the sentences carry student predictions */
  hasStudent?: boolean;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'review.html', type: 'text/html; charset=utf-8' },
  '/review.js': { file: 'review.js', type: 'text/javascript; charset=utf-8' },
  '/review.css': { file: 'review.css', type: 'text/css; charset=utf-8' },
};

export async function buildReviewApp(options: ReviewAppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  setupHttp(app, { host, token: options.token, open: (url) => url.split('?')[0]! in STATIC });
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('content-security-policy'))
      void reply.header('content-security-policy', "frame-ancestors 'none'");
    return payload;
  });

  for (const [route, { file, type }] of Object.entries(STATIC)) {
    app.get(route, async (_req, reply) => {
      // read on each request: cheap, and edits to the page show on reload while developing
      const body = readFileSync(pageFile(file), 'utf8');
      void reply.header('content-type', type).header('cache-control', 'no-store');
      void reply.header(
        'content-security-policy',
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      );
      return body;
    });
  }

  app.get('/api/meta', async () => {
    const types = store.types();
    return {
      title: options.title ?? store.getMeta('data') ?? 'review',
      types,
      colors: Object.fromEntries(types.map((t, i) => [t, PALETTE[i % PALETTE.length]])),
      hasStudent: options.hasStudent ?? store.getMeta('student_model') !== undefined,
      studentModel: store.getMeta('student_model') ?? null,
      store: store.file,
      counts: store.counts(),
    };
  });

  app.get('/api/queue', async (request) => {
    const q = request.query as { status?: string };
    const status = q.status ?? 'all';
    if (status !== 'all' && status !== 'todo' && status !== 'done') {
      throw new HttpError(400, 'bad_request', `status must be all, todo or done, got ${JSON.stringify(status)}`);
    }
    return { queue: store.queue(status), counts: store.counts() };
  });

  const load = (key: string) => {
    const s = /^[0-9a-f]{32}$/.test(key) ? store.sentenceByKey(key) : undefined;
    if (!s)
      throw new HttpError(
        404,
        'not_found',
        `no sentence with key ${JSON.stringify(key.slice(0, 40))} (keys are 32 hex digits, from /api/queue)`,
      );
    return s;
  };

  app.get('/api/sentences/:key', async (request) => {
    const s = load((request.params as { key: string }).key);
    return { sentence: { ...s, key: keyOf(s.id) }, state: store.state(s) };
  });

  app.post('/api/sentences/:key/actions', async (request) => {
    const s = load((request.params as { key: string }).key);
    const body = request.body as { version?: unknown; action?: unknown } | null;
    if (typeof body !== 'object' || body === null)
      throw new HttpError(400, 'bad_request', 'send {"version": n, "action": {...}}');
    if (body.version !== undefined && !Number.isInteger(body.version))
      throw new HttpError(400, 'bad_request', '"version" must be an integer');
    try {
      const action = parseAction(body.action);
      const state = store.act(s.id, action, body.version as number | undefined);
      return { state, counts: store.counts() };
    } catch (err) {
      if (err instanceof ActionError) throw new HttpError(422, 'invalid_action', err.message);
      if (err instanceof VersionConflict) throw new HttpError(409, 'conflict', err.message);
      throw err;
    }
  });

  app.get('/api/export', async (request, reply) => {
    const format = ((request.query as { format?: string }).format ?? 'jsonl') as ExportFormat;
    if (format !== 'jsonl' && format !== 'conll')
      throw new HttpError(400, 'bad_request', 'format must be jsonl or conll');
    const { text, count } = exportReviewed(store, format);
    void reply
      .header('content-type', format === 'jsonl' ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8')
      .header('content-disposition', `attachment; filename="reviewed.${format === 'jsonl' ? 'jsonl' : 'conll'}"`)
      .header('x-nerd-sentences', String(count));
    return text;
  });

  return app;
}
