/**
 * Two `nerd review` processes on one store (real processes, real SQLite file, real HTTP on 127.0.0.1):
 * 400 actions sent to both at once are all saved; none fails with "database is locked".
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReviewStore } from '../../src/serve/review/store.js';
import { spawnCli } from '../helpers/cli.js';
import { reviewUrl, tempDir, writeTeacherData } from './fixtures.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function start(args: string[]): Promise<string> {
  const child = spawnCli(['review', ...args, '--port', '0']);
  children.push(child);
  return reviewUrl(child);
}

describe('two review processes on one store', () => {
  it('saves 400 concurrent actions, no 500', async () => {
    const dir = tempDir('nerd-review-two-');
    const data = writeTeacherData(dir, 10);
    const storeFile = path.join(dir, 'shared.sqlite');
    // both load the same data into the store at the same time, then serve it
    const [a, b] = await Promise.all([
      start(['--data', data, '--store', storeFile]),
      start(['--data', data, '--store', storeFile]),
    ]);
    const { queue } = (await (await fetch(`${a}/api/queue`)).json()) as { queue: Array<{ key: string }> };
    expect(queue).toHaveLength(10);
    const statuses = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const url = i % 2 === 0 ? a : b;
        const type = i % 4 < 2 ? 'accept-sentence' : 'reopen';
        const res = await fetch(`${url}/api/sentences/${queue[i % queue.length]!.key}/actions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ action: { type } }), // no version: every action applies to what is there
        });
        const body = (await res.json()) as { message?: string };
        return res.status === 200 ? 200 : `${res.status} ${body.message}`;
      }),
    );
    const failed = statuses.filter((s) => s !== 200);
    expect(failed).toEqual([]);
    const store = new ReviewStore(storeFile);
    try {
      expect(store.counts().actions).toBe(400);
    } finally {
      store.close();
    }
  }, 120_000);
});
