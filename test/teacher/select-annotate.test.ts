/**
 * `nerd annotate --select`: the real command (in this process) against teacher-sim on 127.0.0.1 annotates
 * only the chosen sentences, in input order, and the same seed chooses the same ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { selectIndices } from '../../src/teacher/select.js';
import { runNerd } from '../helpers/cli.js';
import { DEV, devSlice, tempDir } from './helpers.js';

let sim: TeacherSim | undefined;
afterAll(async () => {
  await sim?.close();
});

describe('nerd annotate --select', () => {
  it('annotates the chosen sentences only, in input order, the same ones for the same seed', async () => {
    const dir = tempDir();
    const input = devSlice(120, dir, 'pool.txt');
    sim = await startTeacherSim({ gold: DEV, noise: 'none', seed: 1, log: null, noiseOverrides: { latencyMs: 0 } });
    const args = (out: string, extra: string[]) => [
      'annotate',
      '--input',
      input,
      '--types',
      'PER,ORG,LOC,MISC',
      '--out',
      out,
      '--cache',
      join(dir, 'cache.sqlite'),
      '--base-url',
      sim!.url,
      '--model',
      'gpt-test',
      '--no-progress',
      '--batch',
      '4',
      '--no-structured',
      ...extra,
    ];
    const ids = (file: string) =>
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id);

    const a = await runNerd(
      args(join(dir, 'a.jsonl'), ['--select', 'diversity', '--select-count', '15', '--seed', '2']),
    );
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/15 of 120 sentences chosen by 'diversity'/);
    const pool = readCorpus(input).corpus.sentences;
    const expected = selectIndices(
      pool.map((s) => s.tokens),
      15,
      { strategy: 'diversity', seed: 2 },
    ).map((i) => pool[i]!.id);
    expect(ids(join(dir, 'a.jsonl'))).toEqual(expected);

    const b = await runNerd(
      args(join(dir, 'b.jsonl'), ['--select', 'diversity', '--select-count', '15', '--seed', '2']),
    );
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(dir, 'b.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'a.jsonl'), 'utf8'));

    const r = await runNerd(args(join(dir, 'r.jsonl'), ['--select', 'random', '--select-count', '15', '--seed', '2']));
    expect(r.code, r.stderr).toBe(0);
    expect(ids(join(dir, 'r.jsonl'))).toHaveLength(15);
    expect(ids(join(dir, 'r.jsonl'))).not.toEqual(expected);
  });

  it('refuses --select without a count, and uncertainty without a model, in one line', async () => {
    const dir = tempDir();
    const base = [
      'annotate',
      '--input',
      DEV,
      '--types',
      'PER',
      '--out',
      join(dir, 'x.jsonl'),
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--model',
      'm',
      '--no-progress',
    ];
    const a = await runNerd([...base, '--select', 'random']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toMatch(/^nerd: give both --select and --select-count[^\n]*$/);
    const b = await runNerd([...base, '--select', 'uncertainty', '--select-count', '5']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toMatch(/--select uncertainty needs --select-model[^\n]*$/);
    const c = await runNerd([...base, '--select', 'clever', '--select-count', '5']);
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toMatch(
      /^nerd: --select: unknown strategy "clever" \(one of first, random, diversity, uncertainty\)$/,
    );
  });
});
