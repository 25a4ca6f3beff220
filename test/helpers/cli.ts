/**
 * Running `nerd` in tests, two ways: `runCli` spawns the real command line (`node --import tsx src/cli.ts`,
 * exit code and output as a user sees them) and `spawnCli` leaves the process running (servers);
 * `runNerd` calls `main` in this process with stdout and stderr captured (much faster, same code).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli.js';
import { ROOT } from './data.js';

export const CLI = path.join(ROOT, 'src/cli.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** working directory (default: the project root) */
  cwd?: string;
  /** added to this process's environment */
  env?: Record<string, string | undefined>;
  /** written to the command's standard input, which is then closed */
  input?: string | Uint8Array;
}

/** Starts `nerd ARGS` and leaves it running (stdin ignored unless `input` is given; stdout/stderr piped). */
export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

/** Runs `nerd ARGS` as a child process to its end. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `nerd ARGS` in this process (`main` from src/cli.ts), capturing stdout and stderr. */
export async function runNerd(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const text = (chunk: string | Uint8Array) =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += text(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += text(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'nerd', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
