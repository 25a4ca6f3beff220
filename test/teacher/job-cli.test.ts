/**
 * `nerd annotate` as a user runs it (a child process, the real CLI) against an endpoint that is not there,
 * and with a budget it cannot count: one line naming the address or the fix, a non-zero exit, quickly.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { devSlice, tempDir } from './helpers.js';

async function run(args: string[]): Promise<CliResult & { ms: number }> {
  const started = performance.now();
  const r = await runCli(args, { env: { NERD_API_KEY: '', OPENAI_API_KEY: '' } });
  return { ...r, ms: performance.now() - started };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('nerd annotate (CLI) fails fast', () => {
  it('an unreachable --base-url: exit 1 and one line with the address and the cause', async () => {
    const dir = tempDir();
    const input = devSlice(120, dir);
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const r = await run([
      'annotate',
      '--input',
      input,
      '--types',
      'PER,ORG,LOC,MISC',
      '--out',
      join(dir, 'o.jsonl'),
      '--base-url',
      url,
      '--model',
      'gpt-4o',
      '--no-progress',
    ]);
    expect(r.code).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.includes('stopped:'));
    expect(line).toBeDefined();
    expect(line).toContain(url);
    expect(line).toContain('connection refused (ECONNREFUSED)');
    expect(line).toContain('rerun the same command to continue');
    // (wall time, for the record: the process starts, reads 120 sentences and stops at the first refusal)
    console.log(`unreachable --base-url: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s`);
  });

  it('--max-cost with no known price: exit 2 before any request, with the --prices hint', async () => {
    const dir = tempDir();
    const input = devSlice(5, dir);
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const r = await run([
      'annotate',
      '--input',
      input,
      '--types',
      'PER,ORG,LOC,MISC',
      '--out',
      join(dir, 'o.jsonl'),
      '--base-url',
      url,
      '--model',
      'my-azure-deployment',
      '--max-cost',
      '0.02',
      '--no-progress',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no price is known for model "my-azure-deployment".*--prices FILE/);
    expect(r.stderr).not.toContain('ECONNREFUSED'); // refused before asking anything
  });
});
