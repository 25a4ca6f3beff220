/**
 * `nerd teacher-sim` as a command: a spawned CLI process that serves until SIGTERM, says it is simulated,
 * and rejects bad input with file:line messages.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const DEV = path.resolve(ROOT, '../shared/data/conll2003/dev.txt');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli.ts')];

describe('nerd teacher-sim (CLI)', () => {
  it('serves OpenAI-compatible answers until SIGTERM and says it is simulated', async () => {
    const child = spawn(
      process.execPath,
      [...CLI, 'teacher-sim', '--gold', DEV, '--noise', 'none', '--latency-ms', '5', '--seed', '3'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/v1)\n/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    try {
      expect(stderr).toMatch(/SIMULATED teacher/);
      expect(stderr).toMatch(/"latencyMs":5/);
      const models = (await fetch(`${url}/models`).then((r) => r.json())) as { data: Array<{ id: string }> };
      expect(models.data[0]!.id).toMatch(/SIMULATED/);
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o',
          temperature: 0,
          messages: [{ role: 'user', content: '<sentences>\n{"id":"1","text":"LONDON 1996-08-30"}\n</sentences>' }],
        }),
      });
      const body = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
      expect(body.model).toBe('SIMULATED-teacher(gpt-4o)');
      expect(body.choices[0]!.message.content).toContain('{"entities":[{"text":"LONDON","type":"LOC"}]}');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(stderr).toMatch(/stopped .*"requests":1/);
  });

  it('rejects a bad gold file and a bad noise flag with exit code 2 and a located message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-sim-cli-'));
    const bad = path.join(dir, 'gold.txt');
    writeFileSync(bad, 'EU B-ORG\nrejects\n');
    const { main } = await import('../../src/cli.js');
    const run = async (args: string[]) => {
      let stderr = '';
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => {
        stderr += chunk.toString();
        return true;
      }) as typeof process.stderr.write;
      try {
        return { code: await main(['node', 'nerd', 'teacher-sim', ...args]), stderr };
      } finally {
        process.stderr.write = write;
      }
    };
    const r1 = await run(['--gold', bad]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`${bad}:2: expected "token ... tag"`);
    const r2 = await run(['--gold', DEV, '--miss-rate', '1.5']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/missRate/);
    const r3 = await run(['--gold', DEV, '--profile', 'claude']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('--profile must be one of openai, reasoning, gemini, stream-only, got "claude"');
  });
});
