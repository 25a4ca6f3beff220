/**
 * Training throughput of the student engine: full steps (forward, loss, backward, clipping, AdamW, dropout
 * on) on random tokens, after warm-up steps. When Debian's python3-torch is installed, the same model and
 * step run in PyTorch (bench/train_torch.py, same thread count) right after ours, and the ratio is reported.
 *
 *   npm run bench -- train --model mini --batch 32 --seq 128 --json
 *   npx tsx bench/train.ts --model mini --batch 32 --seq 128 [--steps 5 --warmup 2 --rounds 3 --threads 2 --no-torch]
 *
 * With --rounds N, ours and PyTorch alternate N times (the machine may be shared: each round's ratio is
 * measured back to back, and the median ratio is reported). With --interleave, they alternate every step.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BertEngine, initParams } from '../src/student/engine.js';
import { DEFAULT_OPTIMIZER } from '../src/student/optim.js';
import { isPresetName, presetConfig } from '../src/student/presets.js';
import { Rng } from '../src/random.js';
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
  /** JavaScript-side share of our step: dropout masks + input conversion, clipping + AdamW (median ms) */
  js_ms?: { feeds: number; optimizer: number };
  rounds: number;
  torch?: { step_s: number; train_tokens_per_s: number; version: string; step_s_all: number[] } | { error: string };
  /** median over rounds of (PyTorch s/step ÷ ours), each round measuring ours then PyTorch back to back */
  speedup_vs_torch?: number;
  speedup_per_round?: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
      rounds: { type: 'string', default: '1' },
      interleave: { type: 'boolean', default: false },
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
  const rounds = Math.max(1, Number(values.rounds));
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
  const script = fileURLToPath(new URL('./train_torch.py', import.meta.url));
  const python = values['no-torch'] ? null : findPython();
  const withTorch = python !== null && existsSync(script);
  const ours: number[][] = [];
  const torchSteps: number[][] = [];
  const feedsMs: number[] = [];
  const optMs: number[] = [];
  let torchVersion = '';
  let torchError: string | null = null;
  if (values.interleave && withTorch) return interleaved(engine, batch, { python: python!, script, config, B, T, steps, warmup, threads, model, log });
  for (let r = 0; r < rounds; r++) {
    const times: number[] = [];
    for (let i = 0; i < (r === 0 ? warmup : 0) + steps; i++) {
      const t0 = performance.now();
      await engine.trainStep(batch, 5e-5, DEFAULT_OPTIMIZER);
      const dt = (performance.now() - t0) / 1000;
      if (r > 0 || i >= warmup) {
        times.push(dt);
        feedsMs.push(engine.lastTimings.feeds);
        optMs.push(engine.lastTimings.optimizer);
      }
    }
    ours.push(times);
    log(`round ${r + 1}/${rounds} nerd (onnxruntime): ${median(times).toFixed(3)} s/step, ${(n / median(times)).toFixed(0)} tokens/s`);
    if (withTorch && !torchError) {
      try {
        const out = execFileSync(python!, [script, JSON.stringify({ config, batch: B, seq: T, steps, warmup, threads })], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const t = JSON.parse(out.trim().split('\n').pop()!) as { step_s_all: number[]; torch: string };
        torchSteps.push(t.step_s_all);
        torchVersion = t.torch;
        log(`round ${r + 1}/${rounds} PyTorch ${t.torch}: ${median(t.step_s_all).toFixed(3)} s/step → nerd is ${(median(t.step_s_all) / median(times)).toFixed(2)}×`);
      } catch (e) {
        torchError = String(e);
      }
    }
  }
  await engine.release();
  const all = ours.flat();
  const figures: TrainBenchFigures = {
    model, batch: B, seq: T, threads, steps, rounds,
    step_s: median(all),
    train_tokens_per_s: n / median(all),
    step_s_all: all,
    js_ms: { feeds: median(feedsMs), optimizer: median(optMs) },
  };
  if (torchError) figures.torch = { error: torchError };
  else if (torchSteps.length > 0) {
    const tAll = torchSteps.flat();
    figures.torch = { step_s: median(tAll), train_tokens_per_s: n / median(tAll), version: torchVersion, step_s_all: tAll };
    figures.speedup_per_round = torchSteps.map((t, i) => median(t) / median(ours[i]!));
    figures.speedup_vs_torch = median(figures.speedup_per_round);
    log(`nerd ${figures.step_s.toFixed(3)} s/step (${figures.train_tokens_per_s.toFixed(0)} tokens/s) vs PyTorch ${figures.torch.step_s.toFixed(3)} s/step (${figures.torch.train_tokens_per_s.toFixed(0)} tokens/s): ${figures.speedup_vs_torch.toFixed(2)}× (median of ${rounds} rounds)`);
  }
  return figures;
}

/**
 * --interleave: PyTorch runs as a long-lived child doing one step per request, alternating with ours step by
 * step, so both see the same background load (the machine may be shared); reports the median of the
 * per-pair ratios as well as each side's median.
 */
async function interleaved(
  engine: BertEngine,
  batch: Batch,
  o: { python: string; script: string; config: unknown; B: number; T: number; steps: number; warmup: number; threads: number; model: string; log: (s: string) => void },
): Promise<TrainBenchFigures> {
  const child = spawn(o.python, [o.script, JSON.stringify({ config: o.config, batch: o.B, seq: o.T, steps: 0, warmup: 0, threads: o.threads, interleave: true })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(String((await lines.next()).value)) as { step_s?: number; torch?: string };
  const hello = await next();
  const torchStep = async () => {
    child.stdin.write('step\n');
    return (await next()).step_s!;
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  const feedsMs: number[] = [];
  const optMs: number[] = [];
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t0 = performance.now();
    await engine.trainStep(batch, 5e-5, DEFAULT_OPTIMIZER);
    const dt = (performance.now() - t0) / 1000;
    const tt = await torchStep();
    if (i < o.warmup) continue;
    ours.push(dt);
    theirs.push(tt);
    feedsMs.push(engine.lastTimings.feeds);
    optMs.push(engine.lastTimings.optimizer);
    o.log(`step ${i + 1 - o.warmup}/${o.steps}: nerd ${dt.toFixed(3)} s, PyTorch ${tt.toFixed(3)} s (${(tt / dt).toFixed(2)}×)`);
  }
  child.stdin.end();
  await engine.release();
  const n = o.B * o.T;
  const pairs = theirs.map((t, i) => t / ours[i]!);
  const figures: TrainBenchFigures = {
    model: o.model, batch: o.B, seq: o.T, threads: o.threads, steps: o.steps, rounds: 1,
    step_s: median(ours),
    train_tokens_per_s: n / median(ours),
    step_s_all: ours,
    js_ms: { feeds: median(feedsMs), optimizer: median(optMs) },
    torch: { step_s: median(theirs), train_tokens_per_s: n / median(theirs), version: hello.torch ?? '', step_s_all: theirs },
    speedup_per_round: pairs,
    speedup_vs_torch: median(pairs),
  };
  o.log(`nerd ${figures.step_s.toFixed(3)} s/step (${figures.train_tokens_per_s.toFixed(0)} tokens/s) vs PyTorch ${median(theirs).toFixed(3)} s/step (${(n / median(theirs)).toFixed(0)} tokens/s): ${figures.speedup_vs_torch!.toFixed(2)}× (median of ${pairs.length} interleaved pairs)`);
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
