/**
 * `nerd annotate` as users run it: the real CLI in a child process, the real OpenAI client, teacher-sim over
 * HTTP on 127.0.0.1 with faults on. Covers resuming after SIGKILL and keeping API keys out of every file.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { main } from '../../src/cli.js';
import { writeTinyGguf } from '../../scripts/make-tiny-gguf.js';
import { spawnCli } from '../helpers/cli.js';
import { devSlice, tempDir } from './helpers.js';

const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

async function startSim(gold: string, overrides: Record<string, number> = {}, apiKey?: string): Promise<TeacherSim> {
  const s = await startTeacherSim({
    gold,
    noise: 'default',
    seed: 3,
    log: null,
    noiseOverrides: { latencyMs: 20, slowMs: 100, retryAfterS: 0.2, ...overrides },
    ...(apiKey ? { apiKey } : {}),
  });
  sims.push(s);
  return s;
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawnCli(args, { env: { NERD_API_KEY: '', OPENAI_API_KEY: '', ...env } });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, stdout })),
  );
  return { child, done };
}

function annotateArgs(input: string, sim: TeacherSim, out: string, cache: string, extra: string[] = []): string[] {
  return [
    'annotate',
    '--input',
    input,
    '--types',
    'PER,ORG,LOC,MISC',
    '--out',
    out,
    '--cache',
    cache,
    '--base-url',
    sim.url,
    '--model',
    'gpt-test',
    '--no-progress',
    '--concurrency',
    '4',
    '--batch',
    '2',
    '--no-structured',
    ...extra,
  ];
}

function cacheRows(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** the real CLI in this process (`main` from src/cli.ts), with stderr/stdout captured and env overridden */
async function inProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  const saved = { NERD_API_KEY: process.env.NERD_API_KEY, OPENAI_API_KEY: process.env.OPENAI_API_KEY };
  Object.assign(process.env, { NERD_API_KEY: '', OPENAI_API_KEY: '', ...env });
  let stderr = '';
  let stdout = '';
  const errWrite = process.stderr.write.bind(process.stderr);
  const outWrite = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (stderr += chunk.toString()), true
  )) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => (
    (stdout += chunk.toString()), true
  )) as typeof process.stdout.write;
  try {
    const code = await main(['node', 'nerd', ...args]);
    return { code, stderr, stdout };
  } finally {
    process.stderr.write = errWrite;
    process.stdout.write = outWrite;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('nerd annotate (CLI)', () => {
  it('resumes after kill -9 with identical output, asking nothing already answered', async () => {
    const dir = tempDir();
    const n = 120;
    const input = devSlice(n, dir);

    // reference: one uninterrupted run against its own simulator
    const simA = await startSim(input);
    const ref = await inProcess(annotateArgs(input, simA, join(dir, 'ref.jsonl'), join(dir, 'ref.sqlite')));
    expect(ref.code, ref.stderr).toBe(0);
    expect(ref.stderr).toContain('SIMULATED');
    const refLines = readFileSync(join(dir, 'ref.jsonl'), 'utf8').trim().split('\n');
    expect(refLines).toHaveLength(n);

    // the same job against an identical simulator, in a child process killed with SIGKILL mid-run
    const simB = await startSim(input);
    const out = join(dir, 'out.jsonl');
    const cache = join(dir, 'out.sqlite');
    const killed = cli(annotateArgs(input, simB, out, cache));
    const total = simA.stats.answers;
    const deadline = Date.now() + 60_000;
    while (simB.stats.answers < total / 3 && Date.now() < deadline) await sleep(20);
    killed.child.kill('SIGKILL');
    const k = await killed.done;
    expect(k.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false); // no partial output file
    // the output streams into one temporary file beside it (never the output itself), which a rerun replaces
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual(['.out.jsonl.tmp']);
    const rowsAfterKill = cacheRows(cache);
    const answersAfterKill = simB.stats.answers;
    expect(rowsAfterKill).toBeGreaterThan(0);
    expect(answersAfterKill).toBeLessThan(total);
    // at most the answers in flight when the process died were lost
    expect(answersAfterKill - rowsAfterKill).toBeLessThanOrEqual(4);

    const rerun = await inProcess(annotateArgs(input, simB, out, cache));
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(dir, 'ref.jsonl'), 'utf8'));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    // every answer the rerun received was new: nothing already in the cache was asked again
    expect(simB.stats.answers - answersAfterKill).toBe(cacheRows(cache) - rowsAfterKill);
    expect(rerun.stderr).toMatch(/cache hits [1-9]/);
  });

  it('keeps the API key out of the cache, the output and the messages, even when the server echoes it', async () => {
    const dir = tempDir();
    const input = devSlice(20, dir);
    const key = 'sk-nerdtest-KEY-7f3a9c1e5b2d4f60';
    const sim = await startSim(input, {}, key);
    const out = join(dir, 'k.jsonl');
    const cache = join(dir, 'k.sqlite');
    const ok = await inProcess(annotateArgs(input, sim, out, cache), { NERD_API_KEY: key });
    expect(ok.code, ok.stderr).toBe(0);
    const secretPart = '7f3a9c1e5b2d4f60';
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f)).toString('latin1'), f).not.toContain(secretPart);
    expect(ok.stderr + ok.stdout).not.toContain(secretPart);

    // a wrong key: the simulator answers 401 and echoes the key in full, like the worst gateways
    const wrong = 'sk-nerdtest-WRONG-0c4b8e2a6d1f3597';
    const bad = await inProcess(annotateArgs(input, sim, join(dir, 'w.jsonl'), join(dir, 'w.sqlite')), {
      NERD_API_KEY: wrong,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/credentials|401|API key/i);
    expect(bad.stderr + bad.stdout).not.toContain('0c4b8e2a6d1f3597');
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f)).toString('latin1'), f).not.toContain('0c4b8e2a6d1f3597');
  });

  it('--gguf runs the embedded llama.cpp teacher (a tiny random GGUF: the grammar still forces a readable answer)', async () => {
    const dir = tempDir();
    const input = devSlice(2, dir);
    const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
    const out = join(dir, 'g.jsonl');
    const r = await inProcess([
      'annotate',
      '--input',
      input,
      '--types',
      'PER,ORG,LOC,MISC',
      '--out',
      out,
      '--gguf',
      gguf,
      '--threads',
      '1',
      '--no-progress',
      '--max-tokens',
      '120',
      '--shots',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2\/2 sentences annotated/);
    expect(r.stderr).toMatch(/unreadable 0/);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { teacher: { model: string } });
    expect(lines.map((l) => l.teacher.model)).toEqual(['tiny.gguf', 'tiny.gguf']);
  });

  it('Ctrl-C (SIGINT) stops cleanly: writes what is done and says how to resume', async () => {
    const dir = tempDir();
    const input = devSlice(80, dir);
    const sim = await startSim(input, { latencyMs: 100 });
    const out = join(dir, 'i.jsonl');
    const run = cli(annotateArgs(input, sim, out, join(dir, 'i.sqlite'), ['--batch', '1', '--concurrency', '2']));
    const deadline = Date.now() + 60_000;
    while (sim.stats.answers < 10 && Date.now() < deadline) await sleep(20);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/interrupted: \d+ sentences written, \d+ not yet done; rerun the same command/);
    const written = readFileSync(out, 'utf8').trim().split('\n').length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(80);
  });

  it('--max-cost stops cleanly: writes what is done and says how to resume', async () => {
    const dir = tempDir();
    const input = devSlice(40, dir);
    const sim = await startSim(input, { rateLimitRate: 0, serverErrorRate: 0, slowRate: 0 });
    const out = join(dir, 'b.jsonl');
    const args = annotateArgs(input, sim, out, join(dir, 'b.sqlite'), ['--price-in', '100', '--price-out', '100']);
    const r = await inProcess([...args, '--max-cost', '0.5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /budget of \$0\.5000 reached: \d+ sentences written, \d+ not yet asked; rerun the same command/,
    );
    const written = readFileSync(out, 'utf8').trim().split('\n').length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(40);
    const rest = await inProcess([...args, '--max-cost', '100']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(40);
  });

  it('--dry-run estimates without calling; bad flags are one-line input errors', async () => {
    const dir = tempDir();
    const input = devSlice(30, dir);
    const sim = await startSim(input);
    const dry = await inProcess(
      annotateArgs(input, sim, join(dir, 'd.jsonl'), join(dir, 'd.sqlite'), [
        '--dry-run',
        '--price-in',
        '2.5',
        '--price-out',
        '10',
      ]),
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/dry-run: 30 sentences → 15 requests to make \(0 already in the cache/);
    expect(dry.stderr).toMatch(/\$0\.0\d+ at \$2\.5\/\$10 per 1M tokens/);
    expect(sim.stats.requests).toBe(0);
    expect(existsSync(join(dir, 'd.jsonl'))).toBe(false);

    // (a type without a built-in definition gets a written one: test/teacher/labels-any-set.test.ts)
    const badType = await inProcess([
      'annotate',
      '--input',
      input,
      '--types',
      'PER,DR UG',
      '--out',
      join(dir, 'x.jsonl'),
      '--base-url',
      sim.url,
      '--model',
      'm',
    ]);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/"DR UG" is not a valid entity type name/);
    const missing = await inProcess([
      'annotate',
      '--input',
      join(dir, 'nope.txt'),
      '--types',
      'PER',
      '--out',
      join(dir, 'x.jsonl'),
      '--base-url',
      sim.url,
      '--model',
      'm',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.txt/);
    expect(sim.stats.requests).toBe(0);
  });
});
