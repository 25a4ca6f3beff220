/**
 * End to end: `nerd experiment` on real CoNLL-2003 sentences with the real simulator, teacher, trainer and
 * scorer (small sizes). A run killed with SIGKILL after its first result and rerun must skip the finished
 * run and end with the same results and report as an uninterrupted run.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { dataPath, VOCAB } from '../helpers/data.js';

const data = dataPath('conll2003');

function config(out: string): string {
  const file = path.join(out, 'exp.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'kill-test',
      out,
      budgets: [24],
      strategies: ['human-only', 'simple-mix', 'sigmoid'],
      seeds: [5],
      base: {
        data: {
          train: `${data}/train.txt`,
          dev: `${data}/dev.txt`,
          test: `${data}/test.txt`,
          devLimit: 40,
          testLimit: 60,
          teacherLimit: 48,
        },
        teacher: { cache: path.join(out, 'cache.sqlite'), batch: 4 },
        student: { model: 'tiny', batchSize: 8, maxSeq: 64, threads: 1, vocab: VOCAB.cased },
        phase1: { epochs: 1, lr: 0.002 },
        phase2: { epochs: 2, lr: 0.001 },
      },
    }),
  );
  return file;
}

function nerd(args: string[], opts: { killWhen?: (stderr: string, out: string) => boolean; out: string }) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawnCli(args);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (opts.killWhen?.(stderr, opts.out)) child.kill('SIGKILL');
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
}

const resultsOf = (out: string) =>
  readFileSync(path.join(out, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, ...rest } = JSON.parse(l);
      return rest;
    });

describe('nerd experiment', () => {
  it('resumes after SIGKILL: skips finished runs and ends with the same results and report', async () => {
    const a = mkdtempSync(path.join(tmpdir(), 'nerd-exp-a-'));
    const b = mkdtempSync(path.join(tmpdir(), 'nerd-exp-b-'));

    const whole = await nerd(['experiment', '--config', config(a)], { out: a });
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/human-only\s+simple-mix\s+sigmoid\s+teacher F1/);

    // kill the second run during its training (after the first run's result is on disk)
    const killed = await nerd(['experiment', '--config', config(b)], {
      out: b,
      killWhen: (stderr) => /\[2\/3\][^\n]*running[\s\S]*phase1/.test(stderr),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(resultsOf(b)).toHaveLength(1);

    const rerun = await nerd(['experiment', '--config', config(b)], { out: b });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/\[1\/3\] budget=24\/strategy=human-only\/seed=5: done before/);
    expect(rerun.stdout).toMatch(/2 run\(s\) done now, 1 reused/);

    expect(resultsOf(b)).toEqual(resultsOf(a));
    expect(readFileSync(path.join(b, 'summary.txt'), 'utf8')).toBe(readFileSync(path.join(a, 'summary.txt'), 'utf8'));
    const html = (dir: string) => readFileSync(path.join(dir, 'report.html'), 'utf8').split(dir).join('OUT');
    expect(html(b)).toBe(html(a));
    expect(existsSync(path.join(b, 'runs'))).toBe(true);
  }, 600_000);
});
