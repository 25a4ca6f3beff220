/**
 * The review page in a real browser (Debian's Chromium via playwright-core) against the real review server
 * on 127.0.0.1 and a real SQLite store: keyboard span fixes survive a reload and a server restart,
 * entities render in their type colours (checked on a screenshot's pixels), and the keys documented on
 * the page do what they say.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReviewApp, PALETTE } from '../../src/serve/review/app.js';
import { readReviewData } from '../../src/serve/review/data.js';
import { ReviewStore } from '../../src/serve/review/store.js';
import { launchChromium, skipBrowser } from './browser.js';
import { tempDir, writeTeacherData } from './fixtures.js';

interface Running {
  app: FastifyInstance;
  store: ReviewStore;
  url: string;
}

async function startReview(storeFile: string, data?: string, token?: string): Promise<Running> {
  const store = new ReviewStore(storeFile);
  if (data) store.loadSentences(readReviewData(data), data);
  const app = await buildReviewApp({ store, title: 'fixture', token });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { app, store, url: `http://127.0.0.1:${addr.port}/` };
}

async function stop(r: Running): Promise<void> {
  await r.app.close();
  r.store.close();
}

async function saved(page: Page): Promise<void> {
  await page.waitForSelector('#save[data-state="saved"]');
}

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

describe.skipIf(skipBrowser)('review page in Chromium', () => {
  let browser: Browser;
  let dir: string;
  let data: string;
  let storeFile: string;
  let server: Running;

  beforeAll(async () => {
    dir = tempDir('nerd-review-');
    data = writeTeacherData(dir, 20);
    storeFile = path.join(dir, 'review.sqlite');
    server = await startReview(storeFile, data);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await stop(server);
  });

  it('fixes a span with the keyboard; the fix is kept after a reload and a server restart', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    const id = new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('id')!;
    const sentence = server.store.sentence(id)!;
    // the most doubtful sentence comes first
    expect(sentence.doubt).toBe(Math.max(...server.store.queue().map((q) => q.doubt)));

    // Tab focuses the first entity; Shift+→ moves its end one token right (or ← moves its start left)
    await page.keyboard.press('Tab');
    const before = await page.locator('#sentence .ent.focused').getAttribute('data-span-id');
    const span = server.store.state(sentence).spans.find((s) => String(s.id) === before)!;
    const next = server.store.state(sentence).spans.find((s) => s.start >= span.end);
    const canGrowRight = span.end < sentence.tokens.length && (!next || next.start > span.end);
    await page.keyboard.press(canGrowRight ? 'Shift+ArrowRight' : 'ArrowLeft');
    await saved(page);
    const want = canGrowRight ? { start: span.start, end: span.end + 1 } : { start: span.start - 1, end: span.end };
    const focused = page.locator(`#sentence .ent[data-span-id="${before}"]`);
    expect(await focused.getAttribute('data-start')).toBe(String(want.start));
    expect(await focused.getAttribute('data-end')).toBe(String(want.end));
    expect(await focused.getAttribute('data-status')).toBe('edited');
    // and the type: press the legend number of another type
    const types = server.store.types();
    const newType = types.find((t) => t !== span.label)!;
    await page.keyboard.press(String(types.indexOf(newType) + 1));
    await saved(page);

    // reload: the page comes back on the same sentence with the fix
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    const after = page.locator(`#sentence .ent[data-span-id="${before}"]`);
    expect(await after.getAttribute('data-start')).toBe(String(want.start));
    expect(await after.getAttribute('data-end')).toBe(String(want.end));
    expect(await after.getAttribute('data-label')).toBe(newType);

    // restart the server on the same store file: still there
    await stop(server);
    server = await startReview(storeFile);
    await page.goto(`${server.url}#id=${encodeURIComponent(id)}`);
    await page.waitForSelector('body[data-ready="true"]');
    const restarted = page.locator(`#sentence .ent[data-span-id="${before}"]`);
    expect(await restarted.getAttribute('data-end')).toBe(String(want.end));
    expect(await restarted.getAttribute('data-label')).toBe(newType);
    const st = server.store.state(server.store.sentence(id)!);
    expect(st.spans.find((s) => String(s.id) === before)).toMatchObject({ ...want, label: newType, status: 'edited' });
    await page.close();
  }, 60_000);

  it('renders entities in their type colours (screenshot pixels)', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    const ents = page.locator('#sentence .ent');
    expect(await ents.count()).toBeGreaterThan(0);
    const types = server.store.types();
    // saved for a look when the test fails: NERD_SCREENSHOTS=DIR keeps it, else the test's temp folder
    const shotDir = process.env.NERD_SCREENSHOTS ?? dir;
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, 'review-page.png') });
    for (let k = 0; k < (await ents.count()); k++) {
      const ent = ents.nth(k);
      const label = (await ent.getAttribute('data-label'))!;
      const box = (await ent.boundingBox())!;
      expect(box.width).toBeGreaterThan(10);
      expect(box.height).toBeGreaterThan(10);
      // a pixel inside the entity's padding, left of its first token: the type's background colour
      const png = await page.screenshot({ clip: { x: box.x + 3, y: box.y + box.height / 2, width: 1, height: 1 } });
      const rgb = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = c.height = 1;
        const ctx = c.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
      }, png.toString('base64'));
      const want = hexToRgb(PALETTE[types.indexOf(label) % PALETTE.length]!);
      rgb.forEach((v, c) => expect(Math.abs(v - want[c]!)).toBeLessThanOrEqual(8));
    }
    await page.close();
  }, 60_000);

  it('accepts, rejects, adds and undoes with the documented keys, and Enter moves on', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    const idOf = async () => new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('id')!;
    // find a sentence not reviewed yet with at least two entities
    let id = await idOf();
    for (let k = 0; k < 20; k++) {
      const s = server.store.sentence(id)!;
      const st = server.store.state(s);
      if (st.status === 'todo' && st.spans.length >= 2 && st.spans.every((x) => x.status === 'pending')) break;
      await page.keyboard.press('j');
      await page.waitForFunction((prev) => !location.hash.includes(`id=${encodeURIComponent(prev)}`), id);
      id = await idOf();
    }
    const s = server.store.sentence(id)!;
    const spans0 = server.store.state(s).spans;
    expect(spans0.length).toBeGreaterThanOrEqual(2);
    await page.keyboard.press('Tab');
    await page.keyboard.press('a'); // accept the first
    await page.keyboard.press('Tab');
    await page.keyboard.press('x'); // reject the second
    await saved(page);
    let st = server.store.state(s);
    expect(st.spans.find((x) => x.id === spans0[0]!.id)!.status).toBe('accepted');
    expect(st.spans.some((x) => x.id === spans0[1]!.id)).toBe(false);
    await page.keyboard.press('u'); // undo the rejection
    await saved(page);
    st = server.store.state(s);
    expect(st.spans.some((x) => x.id === spans0[1]!.id)).toBe(true);
    // a new entity on a token outside every entity: move the cursor there with l, press n
    const free = s.tokens.findIndex((_, i) => !st.spans.some((x) => x.start <= i && i < x.end));
    await page.locator(`#sentence .tok[data-i="0"]`).click();
    for (let i = 0; i < free; i++) await page.keyboard.press('l');
    await page.keyboard.press('n');
    await saved(page);
    st = server.store.state(s);
    expect(st.spans.some((x) => x.start === free && x.end === free + 1 && x.status === 'added')).toBe(true);
    expect(await page.locator(`#sentence .ent[data-start="${free}"]`).count()).toBe(1);
    // Enter: sentence reviewed, page moves to the next unreviewed one
    await page.keyboard.press('Enter');
    await page.waitForFunction((prev) => !location.hash.includes(`id=${encodeURIComponent(prev)}`), id);
    await saved(page);
    expect(server.store.state(s).status).toBe('done');
    expect(server.store.state(server.store.sentence(await idOf())!).status).toBe('todo');
    await page.close();
  }, 60_000);

  it('marks several tokens as a new entity: Shift+l selection with a type key, and a mouse drag with n', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    const id = new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('id')!;
    const s = server.store.sentence(id)!;
    const free = (i: number, st = server.store.state(s)) =>
      i < s.tokens.length && !st.spans.some((x) => x.start <= i && i < x.end);
    const pairAt = (from: number) => {
      for (let i = from; i + 1 < s.tokens.length; i++) if (free(i) && free(i + 1)) return i;
      return -1;
    };
    const a = pairAt(0);
    expect(a).toBeGreaterThanOrEqual(0);
    const types = server.store.types();
    await page.locator(`#sentence .tok[data-i="${a}"]`).click();
    await page.keyboard.press('Shift+L');
    expect(await page.locator('#sentence .tok.selected').count()).toBe(2);
    await page.keyboard.press('2');
    await saved(page);
    expect(server.store.state(s).spans).toContainEqual(
      expect.objectContaining({ start: a, end: a + 2, label: types[1], status: 'added' }),
    );
    expect(await page.locator(`#sentence .ent[data-start="${a}"][data-end="${a + 2}"]`).count()).toBe(1);

    const b = pairAt(a + 2);
    expect(b).toBeGreaterThan(a);
    await page.locator(`#sentence .tok[data-i="${b}"]`).hover();
    await page.mouse.down();
    await page.locator(`#sentence .tok[data-i="${b + 1}"]`).hover();
    await page.mouse.up();
    expect(await page.locator('#sentence .tok.selected').count()).toBe(2);
    await page.keyboard.press('n'); // last type used
    await saved(page);
    expect(server.store.state(s).spans).toContainEqual(
      expect.objectContaining({ start: b, end: b + 2, label: types[1] }),
    );
    await page.close();
  }, 60_000);

  it('works behind a bearer token passed in the URL fragment, and says so when it is missing', async () => {
    const token = 'review-token-0123456789';
    const guarded = await startReview(path.join(dir, 'guarded.sqlite'), data, token);
    const page = await browser.newPage();
    try {
      await page.goto(guarded.url);
      await page.waitForSelector('#save[data-state="error"]');
      expect(await page.locator('#message').textContent()).toMatch(/could not load: .*Authorization: Bearer/);
      await page.goto(`${guarded.url}#token=${token}`);
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      expect(page.url()).not.toContain(token); // taken out of the address bar
      await page.keyboard.press('Enter');
      await saved(page);
      expect(guarded.store.counts().done).toBe(1);
    } finally {
      await page.close();
      await stop(guarded);
    }
  }, 60_000);
});
