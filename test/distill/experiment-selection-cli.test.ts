/**
 * End to end: `nerd experiment` with a selection axis (2 teacher sentence counts × 2 teacher selections) on
 * real CoNLL-2003 sentences with the real simulator, teacher, trainer and scorer, at toy sizes. Each run
 * records its selection and the teacher's tokens; the report has the selection table and plots; a rerun
 * reuses every run.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/distill/results.js';
import { runNerd } from '../helpers/cli.js';
import { dataPath, VOCAB } from '../helpers/data.js';

const data = dataPath('conll2003');

/** the head of CoNLL-2003 train (about 300 sentences): a small pool keeps the selection and the simulator quick */
function smallTrain(out: string): string {
  const file = path.join(out, 'train-head.txt');
  const blocks = readFileSync(`${data}/train.txt`, 'utf8').split(/\n\s*\n/);
  writeFileSync(file, `${blocks.slice(0, 300).join('\n\n')}\n`);
  return file;
}

function config(out: string): string {
  const file = path.join(out, 'exp.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'selection-test',
      out,
      budgets: [24],
      strategies: ['teacher-only'],
      seeds: [3],
      teacherLimits: [12, 36],
      teacherSelects: ['random', 'diversity'],
      base: {
        data: {
          train: smallTrain(out),
          dev: `${data}/dev.txt`,
          test: `${data}/test.txt`,
          devLimit: 20,
          testLimit: 30,
          teacherLimit: 36,
        },
        teacher: { cache: path.join(out, 'cache.sqlite'), batch: 4 },
        student: { model: 'tiny', batchSize: 8, maxSeq: 64, threads: 1, vocab: VOCAB.cased },
        phase1: { epochs: 1, lr: 0.002 },
      },
    }),
  );
  return file;
}

describe('nerd experiment with a selection axis', () => {
  it('runs every cell, records selection and teacher tokens, reports them, and a rerun reuses them', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'nerd-exp-sel-'));
    const first = await runNerd(['experiment', '--config', config(out)]);
    expect(first.code, first.stderr).toBe(0);
    const results = readFileSync(path.join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunResult);
    expect(results.map((r) => r.key)).toEqual([
      'budget=24/strategy=teacher-only/seed=3/teacher=12/select=random',
      'budget=24/strategy=teacher-only/seed=3/teacher=12/select=diversity',
      'budget=24/strategy=teacher-only/seed=3/select=random',
      'budget=24/strategy=teacher-only/seed=3/select=diversity',
    ]);
    const at = (limit: number, select: string) =>
      results.find((r) => r.teacherLimit === limit && r.teacherSelect === select)!;
    for (const r of results) {
      expect(r.teacherSentences).toBe(r.teacherLimit);
      expect(r.humanSelect).toBe('random');
      expect(r.teacherTokens!.prompt).toBeGreaterThan(0);
      expect(r.teacherTokens!.completion).toBeGreaterThan(0);
    }
    // three times the sentences cost more tokens; diversity's longer sentences more than random's
    expect(at(36, 'random').teacherTokens!.prompt).toBeGreaterThan(at(12, 'random').teacherTokens!.prompt);
    expect(at(36, 'diversity').teacherTokens!.prompt).toBeGreaterThan(at(36, 'random').teacherTokens!.prompt);

    const summary = readFileSync(path.join(out, 'summary.txt'), 'utf8');
    expect(summary).toMatch(
      /human budget\s+teacher sent\.\s+teacher select\s+teacher-only\s+teacher F1\s+teacher tokens\s+\$ \/ run/,
    );
    expect(summary).toMatch(/\n24 sent\.\s+36\s+diversity\s+\d+\.\d ± 0\.0\s+\d+\.\d ± 0\.0\s+[\d,]+\s+\$\d\.\d{3}\n/);
    expect(first.stdout).toContain(summary.trim());
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2); // F1 against sentences, against $
    expect(html).toContain("GPT-4o's list price");

    const again = await runNerd(['experiment', '--config', config(out)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 run\(s\) done now, 4 reused/);
    expect(readFileSync(path.join(out, 'summary.txt'), 'utf8')).toBe(summary);
  }, 300_000);
});
