/**
 * `nerd review --order STRATEGY`: the review queue served over real HTTP (a real SQLite store) follows the
 * selection strategy's order instead of doubt; bad orders are refused in one line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReviewApp } from '../../src/serve/review/app.js';
import { readReviewData } from '../../src/serve/review/data.js';
import { ReviewStore } from '../../src/serve/review/store.js';
import { orderIndices, orderWithModel, selectIndices } from '../../src/teacher/select.js';
import { runNerd } from '../helpers/cli.js';

const SENTENCES = [
  ['the', 'cat', 'sat'],
  ['the', 'cat', 'sat', 'down'],
  ['Paris', 'and', 'Berlin', 'met', 'Rome', 'in', 'Madrid'],
  ['the', 'cat'],
  ['Oslo', 'talks'],
];

describe('nerd review --order', () => {
  it('orders picks best first, and the first k of the order are the k selected', () => {
    const pool = SENTENCES;
    const div = orderIndices(pool, { strategy: 'diversity', seed: 1 });
    expect(div[0]).toBe(2); // the most new (capitalised) words
    expect([...div].sort()).toEqual([0, 1, 2, 3, 4]);
    for (let k = 1; k <= 5; k++)
      expect([...div.slice(0, k)].sort((a, b) => a - b)).toEqual(
        selectIndices(pool, k, { strategy: 'diversity', seed: 1 }),
      );
    expect(orderIndices(pool, { strategy: 'first', seed: 1 })).toEqual([0, 1, 2, 3, 4]);
  });

  it('serves the queue in the strategy order over HTTP', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-select-review-'));
    const file = path.join(dir, 'd.jsonl');
    // doubt would put sentence 0 first (lowest vote); diversity puts the capitalised one first
    writeFileSync(
      file,
      SENTENCES.map((tokens, i) =>
        JSON.stringify({
          id: `s${i}`,
          tokens,
          entities: i === 0 ? [{ start: 1, end: 2, label: 'MISC', confidence: 0.4 }] : [],
        }),
      ).join('\n'),
    );
    const store = new ReviewStore(path.join(dir, 'r.sqlite'));
    store.loadSentences(readReviewData(file), file);
    const app = await buildReviewApp({ store });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const ids = async () =>
        ((await (await fetch(`${url}/api/queue`)).json()) as { queue: Array<{ id: string }> }).queue.map((e) => e.id);
      expect((await ids())[0]).toBe('s0');
      const all = store.allSentences();
      const ranked = await orderWithModel(
        all.map((s) => s.tokens),
        { strategy: 'diversity', seed: 1 },
      );
      store.order = new Map(ranked.map((i, rank) => [all[i]!.id, rank]));
      expect(await ids()).toEqual(ranked.map((i) => all[i]!.id));
      expect((await ids())[0]).toBe('s2');
    } finally {
      await app.close();
      store.close();
    }
  });

  it('refuses an unknown order, and uncertainty without a model, in one line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-select-review-'));
    const a = await runNerd(['review', '--data', path.join(dir, 'x.jsonl'), '--order', 'clever']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe(
      'nerd: --order: unknown order "clever" (doubt, first, random, diversity, uncertainty)',
    );
    const b = await runNerd(['review', '--data', path.join(dir, 'x.jsonl'), '--order', 'uncertainty']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toMatch(/^nerd: --order uncertainty needs --model[^\n]*$/);
  });
});
