/**
 * Rare entities through `nerd train` (spawned): a fresh classifier starts at the label prior of the training
 * data (the default, said in the log), `--no-prior-bias` keeps Hugging Face's zero bias, and a student that
 * learns nothing from the prior start predicts all-O on dev and is warned about with the dev figures.
 * WNUT-17 sentences: 8.5% of its words are in an entity.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { dataPath, VOCAB } from '../helpers/data.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-rare-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** the first n sentences of a CoNLL file (blank-line separated), written to tmp */
function head(file: string, n: number, name: string): string {
  const sentences = readFileSync(file, 'utf8')
    .split(/\n\s*\n/)
    .slice(0, n);
  const out = path.join(tmp, name);
  writeFileSync(out, `${sentences.join('\n\n')}\n`);
  return out;
}

const trainFile = head(dataPath('wnut17/wnut17train.conll'), 40, 'train.conll');
const devFile = head(dataPath('wnut17/emerging.dev.conll'), 30, 'dev.conll');

async function trainTiny(out: string, extra: string[]) {
  const r = await runCli([
    'train',
    ...['--train', trainFile, '--dev', devFile, '--model', 'tiny', '--vocab', VOCAB.cased],
    ...['--epochs', '2', '--batch', '16', '--max-seq', '64', '--threads', '1', '--out', out],
    // lr ≈ 0: the weights stay where they started, so best/ shows the start and the student what it predicts from there
    ...['--lr', '1e-9'],
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const ck = await loadCheckpoint(path.join(out, 'best'));
  const bias = Array.from(ck.params.get('classifier.bias')!.data);
  const o = Object.values(ck.config.id2label ?? {}).indexOf('O');
  return { stderr: r.stderr, bias, o };
}

describe('nerd train on rare entities', () => {
  it('starts a fresh classifier at the label prior, and warns when the student still predicts all-O late in the run', async () => {
    const { stderr, bias, o } = await trainTiny(path.join(tmp, 'prior'), []);
    expect(stderr).toMatch(/classifier bias set to the label prior of the training data \(O \d+\.\d% of \d+/);
    expect(o).toBeGreaterThanOrEqual(0);
    // a log prior: O, by far the most frequent label, has the largest bias, and the probabilities sum to 1
    expect(bias[o]).toBe(Math.max(...bias));
    expect(bias[o]!).toBeGreaterThan(Math.log(0.8));
    expect(bias.reduce((s, b) => s + Math.exp(b), 0)).toBeCloseTo(1, 4);
    // said once, at the evaluation past the middle of the run (after epoch 2), not at the middle (after epoch 1)
    const evals = [...stderr.matchAll(/step (\d+)\/(\d+) epoch \d+: train loss .* dev P 0\.00 R 0\.00 F1 0\.00/g)];
    expect(evals.map((m) => Number(m[1]))).toEqual([Number(evals[0]![2]) / 2, Number(evals[0]![2])]);
    const warnings = [
      ...stderr.matchAll(
        /at step (\d+) the student predicts no entity on dev \((\d+) gold entities, 0 found, F1 0\.00\)/g,
      ),
    ];
    expect(warnings.map((m) => Number(m[1]))).toEqual([Number(evals[1]![1])]);
  }, 60_000);

  it('--no-prior-bias keeps the zero bias of a new Hugging Face head', async () => {
    const { stderr, bias } = await trainTiny(path.join(tmp, 'zero'), ['--no-prior-bias']);
    expect(stderr).not.toMatch(/label prior/);
    for (const b of bias) expect(Math.abs(b)).toBeLessThan(1e-6);
  }, 60_000);
});
