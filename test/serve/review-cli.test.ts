/**
 * `nerd review` as a user runs it: the real CLI in a child process, a real HTTP client, a real SQLite
 * store. Actions are saved the moment they are answered (a SIGKILL right after loses nothing), the student's
 * predictions raise doubt where they disagree, and the export reads back through the corpus readers.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { ReviewStore, keyOf } from '../../src/serve/review/store.js';
import { spawnCli } from '../helpers/cli.js';
import { reviewUrl, tempDir, writeTeacherData } from './fixtures.js';
import { makeCheckpoint } from './model-fixture.js';

async function finish(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, out, err };
}

async function act(url: string, id: string, version: number, action: unknown) {
  const res = await fetch(`${url}/api/sentences/${keyOf(id)}/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version, action }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('nerd review command', () => {
  it('saves each action at once (survives SIGKILL), shows student disagreement, exports data the corpus readers take', async () => {
    const dir = tempDir('nerd-review-cli-');
    const data = writeTeacherData(dir, 15);
    const model = await makeCheckpoint('tiny');
    const storeFile = path.join(dir, 'teacher.review.sqlite');

    const first = spawnCli(['review', '--data', data, '--model', model, '--port', '0']);
    const url = await reviewUrl(first);
    const meta = (await (await fetch(`${url}/api/meta`)).json()) as any;
    expect(meta.hasStudent).toBe(true);
    expect(meta.store).toBe(storeFile); // default: beside the data
    const { queue } = (await (await fetch(`${url}/api/queue`)).json()) as any;
    expect(queue).toHaveLength(15);
    // an untrained student disagrees with the gold-derived teacher almost everywhere
    expect(
      queue.filter((q: any) => q.reasons.some((r: string) => r.startsWith('student disagrees'))).length,
    ).toBeGreaterThan(10);
    const { sentence, state } = (await (await fetch(`${url}/api/sentences/${queue[0].key}`)).json()) as any;
    expect(sentence.student).toBeInstanceOf(Array);
    const span = state.spans[0];
    let r = await act(url, sentence.id, 0, { type: 'set-span', span: span.id, start: span.start, end: span.end + 1 });
    expect(r.status).toBe(200);
    r = await act(url, sentence.id, 1, { type: 'accept-sentence' });
    expect(r.body.state).toMatchObject({ status: 'done', version: 2 });
    // stale version and impossible actions: 409 and 422 with messages
    expect((await act(url, sentence.id, 1, { type: 'reopen' })).status).toBe(409);
    const bad = await act(url, sentence.id, 2, { type: 'set-label', span: span.id, label: 'FOOD' });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/unknown entity type "FOOD"/);
    const notJson = await fetch(`${url}/api/sentences/${sentence.key}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(notJson.status).toBe(415);
    first.kill('SIGKILL');
    await new Promise((res) => first.on('exit', res));

    // nothing lost: a fresh connection to the store sees both actions
    const store = new ReviewStore(storeFile);
    const st = store.state(store.sentence(sentence.id)!);
    store.close();
    expect(st).toMatchObject({ status: 'done', version: 2 });
    expect(st.spans.find((s) => s.id === span.id)).toMatchObject({
      start: span.start,
      end: span.end + 1,
      status: 'edited',
    });

    // restart from the store alone (no --data): same state, student predictions kept
    const second = spawnCli(['review', '--store', storeFile, '--port', '0']);
    const url2 = await reviewUrl(second);
    const again = (await (await fetch(`${url2}/api/sentences/${sentence.key}`)).json()) as any;
    expect(again.state.version).toBe(2);
    expect(again.sentence.student).toEqual(sentence.student);
    const dl = await fetch(`${url2}/api/export?format=conll`);
    expect(dl.headers.get('x-nerd-sentences')).toBe('1');
    second.kill('SIGTERM');
    expect((await finish(second)).code).toBe(0);

    // export from the CLI, in both formats, and read it back with the corpus readers
    for (const out of [path.join(dir, 'reviewed.conll'), path.join(dir, 'reviewed.jsonl')]) {
      const res = await finish(spawnCli(['review', '--store', storeFile, '--export', out]));
      expect(res.code).toBe(0);
      expect(res.out).toMatch(/wrote 1 reviewed sentences/);
      const { corpus } = readCorpus(out);
      expect(corpus.sentences).toHaveLength(1);
      expect(corpus.sentences[0]!.tokens).toEqual(sentence.tokens);
      const got = corpus.sentences[0]!.spans.map((s) => [s.start, s.end, s.label]);
      expect(got).toContainEqual([span.start, span.end + 1, span.label]);
      expect(got).toHaveLength(st.spans.length);
    }
  }, 120_000);

  it('names the file and line of bad review data and exits 2', async () => {
    const dir = tempDir('nerd-review-bad-');
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, '{"id":"a","tokens":["EU","rejects"],"entities":[]}\n{"id":"b","tokens":"EU rejects"}\n');
    const res = await finish(spawnCli(['review', '--data', file, '--port', '0']));
    expect(res.code).toBe(2);
    expect(res.err.trim()).toBe(`nerd: ${file}:2: "tokens" must be an array of strings`);
    expect(readFileSync(file, 'utf8')).toContain('"id":"b"');
  }, 60_000);
});
