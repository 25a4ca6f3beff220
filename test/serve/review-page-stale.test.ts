/**
 * The review page in Chromium (playwright-core) against the real review server on 127.0.0.1: a sentence
 * whose id is 200 characters of path-like text opens, and a stale tab whose change is refused (409) says
 * so and shows the saved version instead of "saved ✓".
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReviewApp } from '../../src/serve/review/app.js';
import { readReviewData } from '../../src/serve/review/data.js';
import { ReviewStore } from '../../src/serve/review/store.js';
import { launchChromium, skipBrowser } from './browser.js';
import { conllDev, teacherLines, tempDir } from './fixtures.js';

const LONG_ID = `/data/annotations 2026/${'deeply/nested/'.repeat(9)}conll%20train#copy`.padEnd(195, 'x') + ':1234';

describe.skipIf(skipBrowser)('review page: long ids and stale tabs (Chromium)', () => {
  let browser: Browser;
  let app: FastifyInstance;
  let store: ReviewStore;
  let url: string;

  beforeAll(async () => {
    const dir = tempDir('nerd-review-stale-');
    const file = path.join(dir, 'teacher.jsonl');
    const lines = teacherLines(conllDev(6));
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]!), id: LONG_ID });
    writeFileSync(file, `${lines.join('\n')}\n`);
    store = new ReviewStore(path.join(dir, 'r.sqlite'));
    store.loadSentences(readReviewData(file), file);
    app = await buildReviewApp({ store, title: 'stale' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    store?.close();
  });

  it('opens a sentence whose id is 200 characters long', async () => {
    expect(LONG_ID.length).toBe(200);
    const page = await browser.newPage();
    await page.goto(`${url}#id=${encodeURIComponent(LONG_ID)}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#position').textContent()).toContain(LONG_ID);
    const tokens = store.sentence(LONG_ID)!.tokens;
    expect(await page.locator('#sentence .tok').count()).toBe(tokens.length);
    await page.keyboard.press('Enter'); // and it can be reviewed
    await page.waitForSelector('#save[data-state="saved"]');
    expect(store.state(store.sentence(LONG_ID)!).status).toBe('done');
    await page.close();
  }, 60_000);

  it('a stale tab shows the conflict after a 409, not "saved"', async () => {
    const id = store
      .queue()
      .find((q) => q.status === 'todo' && store.state(store.sentence(q.id)!).spans.length > 0)!.id;
    const [fresh, stale] = [await browser.newPage(), await browser.newPage()];
    for (const p of [fresh, stale]) {
      await p.goto(`${url}#id=${encodeURIComponent(id)}`);
      await p.waitForSelector('body[data-ready="true"]');
    }
    // the fresh tab accepts the sentence; the stale one still holds version 0
    await fresh.keyboard.press('Enter');
    await fresh.waitForSelector('#save[data-state="saved"]');
    expect(store.state(store.sentence(id)!)).toMatchObject({ status: 'done', version: 1 });
    await stale.keyboard.press('Tab');
    await stale.keyboard.press('a'); // accept the first entity: refused, the sentence changed elsewhere
    await stale.waitForSelector('#save[data-state="conflict"]');
    expect(await stale.locator('#save').textContent()).toMatch(/NOT SAVED/);
    expect(await stale.locator('#message').textContent()).toMatch(/changed elsewhere/);
    expect(store.state(store.sentence(id)!).version).toBe(1); // nothing written by the stale tab
    // the stale tab now holds the saved version: its next change is saved
    await stale.keyboard.press('o'); // reopen
    await stale.waitForSelector('#save[data-state="saved"]');
    expect(store.state(store.sentence(id)!)).toMatchObject({ status: 'todo', version: 2 });
    await fresh.close();
    await stale.close();
  }, 60_000);
});
