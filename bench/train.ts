/**
 * Training throughput of the student engine: full steps (forward, loss, backward, clipping, AdamW, dropout
 * on) on random tokens, after warm-up steps. When Debian's python3-torch is installed, the same model and
 * step run in PyTorch (bench/train_torch.py, same thread count) right after ours, and the ratio is reported.
 *
 *   npm run bench -- train --model mini --batch 32 --seq 128 --json
 *   npx tsx bench/train.ts --model mini --batch 32 --seq 128 [--steps 5 --warmup 2 --threads 2 --no-torch]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BertEngine, initParams } from '../src/student/engine.js';
import { DEFAULT_OPTIMIZER } from '../src/student/optim.js';
import { isPresetName, presetConfig } from '../src/student/presets.js';
import { Rng } from '../src/student/graph/random.js';
import type { Batch } from '../src/student/types.js';

const CONLL_LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
/** bert-base-cased's vocabulary size */
const VOCAB = 28996;

export interface TrainBenchFigures {
  model: string;
  batch: number;
  seq: number;
  threads: number;
  steps: number;
  step_s: number;
  train_tokens_per_s: number;
  step_s_all: number[];
  torch?: { step_s: number; train_tokens_per_s: number; version: string } | { error: string };
  speedup_vs_torch?: number;
}

function findPython(): string | null {
  for (const p of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
      return p;
    } catch {
      /* try the next */
    }
  }
  return null;
}

export async function run(args: string[]): Promise<TrainBenchFigures> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: 'mini' },
      batch: { type: 'string', default: '32' },
      seq: { type: 'string', default: '128' },
      steps: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      threads: { type: 'string', default: '2' },
      'no-torch': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const model = values.model!;
  if (!isPresetName(model)) throw new Error(`unknown model preset '${model}' (tiny, mini, small, base)`);
  const B = Number(values.batch);
  const T = Number(values.seq);
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  const threads = Number(values.threads);
  const config = presetConfig(model, { vocabSize: VOCAB, labels: CONLL_LABELS });
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const rng = new Rng(7, 0);
  const n = B * T;
  const batch: Batch = {
    batchSize: B,
    seqLen: T,
    inputIds: Int32Array.from({ length: n }, () => 1000 + (rng.nextU32() % (VOCAB - 1000))),
    attentionMask: new Int32Array(n).fill(1),
    labels: Int32Array.from({ length: n }, () => rng.nextU32() % CONLL_LABELS.length),
  };
  const engine = await BertEngine.create(config, initParams(config, 0), { threads, seed: 0 });
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    await engine.trainStep(batch, 5e-5, DEFAULT_OPTIMIZER);
    const dt = (performance.now() - t0) / 1000;
    if (i >= warmup) times.push(dt);
  }
  await engine.release();
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  const figures: TrainBenchFigures = {
    model, batch: B, seq: T, threads, steps,
    step_s: median,
    train_tokens_per_s: n / median,
    step_s_all: times,
  };
  log(`nerd (onnxruntime): ${median.toFixed(3)} s/step, ${(n / median).toFixed(0)} tokens/s`);

  const script = fileURLToPath(new URL('./train_torch.py', import.meta.url));
  const python = values['no-torch'] ? null : findPython();
  if (python && existsSync(script)) {
    try {
      const out = execFileSync(python, [script, JSON.stringify({ config, batch: B, seq: T, steps, warmup, threads })], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const t = JSON.parse(out.trim().split('\n').pop()!) as { step_s: number; train_tokens_per_s: number; torch: string };
      figures.torch = { step_s: t.step_s, train_tokens_per_s: t.train_tokens_per_s, version: t.torch };
      figures.speedup_vs_torch = t.step_s / median;
      log(`PyTorch ${t.torch}: ${t.step_s.toFixed(3)} s/step, ${t.train_tokens_per_s.toFixed(0)} tokens/s → nerd is ${figures.speedup_vs_torch.toFixed(2)}×`);
    } catch (e) {
      figures.torch = { error: String(e) };
    }
  }
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
