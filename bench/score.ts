/**
 * Scoring speed on the CoNLL-2003 test set (3,453 sentences, 46,435 tokens) against a prediction perturbed by
 * scripts/score-perturb.ts ("mixed" perturbation). Times (median of --repeat runs, after one warm-up):
 *   - score_ms:      scoreTagSequences on tag arrays already in memory (what the trainer calls each epoch);
 *   - conlleval_ms:  `nerd eval --conlleval`'s work: parse the conlleval text and count;
 *   - corpora_ms:    `nerd eval --gold --pred`'s work: read both CoNLL files with the corpus reader and score;
 *   - floor_ms:      reference measured in the same run: only splitting the conlleval text into lines and fields;
 *   - perl_ms:       the real conlleval.pl on the same text, when perl and the script are there (CONLLEVAL_PL,
 *                    default /tmp/conlleval/conlleval.pl; see scripts/conlleval-reference.md), with the ratio.
 *
 *   npm run bench -- score [--repeat 7] [--data ../shared/data]
 *   npx tsx bench/score.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildConllevalInput } from '../scripts/score-perturb.js';
import { parseCorpus } from '../src/corpus/index.js';
import { conllevalSentences, countConllevalText, scoreCorpora, scoreTagSequences } from '../src/score/index.js';

export interface ScoreBenchFigures {
  sentences: number;
  tokens: number;
  f1: number;
  repeat: number;
  score_ms: number;
  conlleval_ms: number;
  corpora_ms: number;
  floor_ms: number;
  conlleval_vs_floor: number;
  perl_ms?: number;
  speedup_vs_perl?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(repeat: number, fn: () => unknown): number {
  fn(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return Math.round(median(ts) * 100) / 100;
}

export async function run(args: string[]): Promise<ScoreBenchFigures> {
  const { values } = parseArgs({
    args,
    options: { repeat: { type: 'string', default: '7' }, data: { type: 'string' } },
  });
  const repeat = Math.max(1, Number(values.repeat));
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const data = values.data ?? path.resolve(root, '../shared/data');
  const source = readFileSync(path.join(data, 'conll2003/test.txt'), 'utf8');
  const text = buildConllevalInput(
    { name: 'conll2003/test.txt:mixed', source: 'conll2003/test.txt', kind: 'mixed', rate: 0.2 },
    source,
  );

  const { gold, pred } = conllevalSentences(text);
  const goldText = gold.map((s, i) => s.map((t, j) => `w${i}_${j} ${t}`).join('\n')).join('\n\n') + '\n';
  const predText = pred.map((s, i) => s.map((t, j) => `w${i}_${j} ${t}`).join('\n')).join('\n\n') + '\n';
  const report = scoreTagSequences(gold, pred);

  const score_ms = time(repeat, () => scoreTagSequences(gold, pred));
  const conlleval_ms = time(repeat, () => countConllevalText(text));
  const corpora_ms = time(repeat, () =>
    scoreCorpora(parseCorpus(goldText, 'gold.conll').corpus, parseCorpus(predText, 'pred.conll').corpus),
  );
  const floor_ms = time(repeat, () => {
    let n = 0;
    for (const line of text.split('\n')) n += line.split(' ').length;
    return n;
  });

  const figures: ScoreBenchFigures = {
    sentences: gold.length,
    tokens: report.tokens,
    f1: Math.round(report.f1 * 1e4) / 1e4,
    repeat,
    score_ms,
    conlleval_ms,
    corpora_ms,
    floor_ms,
    conlleval_vs_floor: Math.round((conlleval_ms / floor_ms) * 100) / 100,
  };

  const script = process.env.CONLLEVAL_PL ?? '/tmp/conlleval/conlleval.pl';
  if (existsSync(script)) {
    const runs: number[] = [];
    for (let i = 0; i < Math.min(repeat, 3); i++) {
      const t0 = performance.now();
      const r = spawnSync('perl', [script], { input: text, maxBuffer: 1 << 26 });
      if (r.status !== 0) break;
      runs.push(performance.now() - t0);
    }
    if (runs.length > 0) {
      figures.perl_ms = Math.round(median(runs));
      figures.speedup_vs_perl = Math.round((figures.perl_ms / conlleval_ms) * 10) / 10;
    }
  }
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const figures = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
