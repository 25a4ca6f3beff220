/**
 * The review server's JSON API over real HTTP: sentences addressed by the hash of their id (ids of any
 * length and spelling), clear 4xx answers, export downloads, no framing by other pages.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReviewApp } from '../../src/serve/review/app.js';
import { readReviewData } from '../../src/serve/review/data.js';
import { ReviewStore, keyOf } from '../../src/serve/review/store.js';
import { tempDir } from './fixtures.js';

const LONG = `/home/someone/a/rather/deeply/nested/folder/of/annotation/data/${'x'.repeat(300)}/train.conll:15`;
const IDS = ['data/train.txt:15', 'a b%20c', 'Zürich?#1', LONG];

describe('review API', () => {
  let app: FastifyInstance;
  let store: ReviewStore;
  let url: string;

  beforeAll(async () => {
    const dir = tempDir('nerd-review-api-');
    const file = path.join(dir, 'd.jsonl');
    writeFileSync(
      file,
      IDS.map((id, i) =>
        JSON.stringify({
          id,
          tokens: ['Peter', 'Blackburn', 'visited', 'Zürich', '.'],
          entities: [{ start: 0, end: 2, label: 'PER', confidence: 1 - i * 0.2 }],
        }),
      ).join('\n'),
    );
    store = new ReviewStore(path.join(dir, 'r.sqlite'));
    store.loadSentences(readReviewData(file), file);
    store.addTypes(['LOC']);
    app = await buildReviewApp({ store });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app.close();
    store.close();
  });

  const post = async (id: string, body: unknown) => {
    const res = await fetch(`${url}/api/sentences/${keyOf(id)}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('serves the queue by doubt and handles ids of any length with slashes, spaces, percent signs and unicode', async () => {
    const q = (await (await fetch(`${url}/api/queue`)).json()) as any;
    expect(q.queue.map((e: any) => e.id)).toEqual([...IDS].reverse());
    for (const e of q.queue) expect(e.key).toMatch(/^[0-9a-f]{32}$/);
    for (const { id, key } of q.queue as Array<{ id: string; key: string }>) {
      const res = await fetch(`${url}/api/sentences/${key}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).sentence).toMatchObject({ id, key });
      const r = await post(id, { version: 0, action: { type: 'add-entity', start: 3, end: 4, label: 'LOC' } });
      expect(r.status).toBe(200);
      expect(r.body.state.spans.map((s: any) => s.label)).toEqual(['PER', 'LOC']);
    }
    const todo = (await (await fetch(`${url}/api/queue?status=done`)).json()) as any;
    expect(todo.queue).toEqual([]);
  });

  it('answers 4xx with messages', async () => {
    const missing = await fetch(`${url}/api/sentences/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).message).toMatch(/no sentence with key "nope"/);
    expect((await post('nope', { action: { type: 'reopen' } })).status).toBe(404);
    // the raw id is no address: only its key is
    expect((await fetch(`${url}/api/sentences/${encodeURIComponent(IDS[0]!)}`)).status).toBe(404);
    expect((await post(IDS[0]!, '{"action": ')).body).toMatchObject({ statusCode: 400, error: 'bad_json' });
    expect((await post(IDS[0]!, { action: { type: 'explode' } })).body.message).toMatch(
      /unknown action type "explode"/,
    );
    expect((await post(IDS[0]!, { action: { type: 'set-span', span: 1, start: 'x', end: 2 } })).body.message).toMatch(
      /"start" must be an integer/,
    );
    expect((await post(IDS[0]!, { version: 'one', action: { type: 'reopen' } })).status).toBe(400);
    const overlap = await post(IDS[0]!, { action: { type: 'add-entity', start: 1, end: 3, label: 'LOC' } });
    expect(overlap.status).toBe(422);
    expect(overlap.body.message).toMatch(/would overlap PER "Peter Blackburn"/);
    expect((await fetch(`${url}/api/queue?status=maybe`)).status).toBe(400);
    expect((await fetch(`${url}/api/export?format=xml`)).status).toBe(400);
  });

  it('exports reviewed sentences as downloads', async () => {
    await post(IDS[1]!, { action: { type: 'accept-sentence' } });
    const conll = await fetch(`${url}/api/export?format=conll`);
    expect(conll.headers.get('content-disposition')).toMatch(/reviewed\.conll/);
    expect(await conll.text()).toBe('Peter B-PER\nBlackburn I-PER\nvisited O\nZürich B-LOC\n. O\n\n');
    const jsonl = await fetch(`${url}/api/export?format=jsonl`);
    const rec = JSON.parse((await jsonl.text()).trim());
    expect(rec).toMatchObject({ id: IDS[1], review: { changed: true } });
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });

  it('refuses to be framed by another page: frame-ancestors none and X-Frame-Options DENY on every answer', async () => {
    for (const p of ['/', '/review.js', '/api/meta', '/api/queue', '/api/sentences/nope']) {
      const res = await fetch(`${url}${p}`);
      expect(res.headers.get('x-frame-options'), p).toBe('DENY');
      expect(res.headers.get('content-security-policy'), p).toMatch(/frame-ancestors 'none'/);
    }
  });
});
