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
 *
 * The machine's own yardstick: after each of our steps, the step's matrix products alone (same shapes,
 * transposes, runtime and threads: src/student/graph/gemm-probe.ts) run once. `step_gflops` is their FLOPs
 * over the whole step's time, `gemm_gflops` over their own time, and `gemm_fraction` the median per-step
 * ratio: 1 would mean everything but the products (element-wise ops, copies, feeds, the optimizer) is free.
 * `sgemm_2048_gflops` is one square 2048² MatMul through the same runtime, for reference.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { BertEngine, initParams } from '../src/student/engine.js';
import { sessionOptions } from '../src/student/engine-graph.js';
import { matmulProbe } from '../src/student/graph/index.js';
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
  /** JavaScript-side share of our step: dropout masks + input conversion (or the wait for the masks the
   * worker drew during the previous update), clipping + AdamW (median ms) */
  js_ms?: { feeds: number; optimizer: number };
  /** the onnxruntime call of our step (forward + backward; median ms) */
  run_ms?: number;
  /** the machine's 1-minute load average when the measurement started and ended (the machine may be shared) */
  load_average?: [number, number];
  rounds: number;
  torch?: { step_s: number; train_tokens_per_s: number; version: string; step_s_all: number[] } | { error: string };
  /** median over rounds of (PyTorch s/step ÷ ours), each round measuring ours then PyTorch back to back */
  speedup_vs_torch?: number;
  speedup_per_round?: number[];
  /** FLOPs of the step's matrix products (forward + backward), the numerator of the rates below */
  step_gflop: number;
  /** the step's matrix-product FLOPs ÷ the whole step's time (median) */
  step_gflops: number;
  /** the same products alone (same shapes, transposes, runtime and threads), timed right after each step */
  gemm_gflops: number;
  /** median over steps of (products alone ÷ whole step): the share of the machine's GEMM rate the step reaches */
  gemm_fraction: number;
  /** one square 2048² single-precision MatMul through the same runtime: the machine's headline GEMM rate */
  sgemm_2048_gflops: number;
}

/** Times the probe model (the step's matrix products alone) once; seconds. */
interface GemmProbe {
  flops: number;
  time(): Promise<number>;
  release(): Promise<void>;
}

async function gemmProbe(
  config: Parameters<typeof BertEngine.trainingGraph>[0],
  B: number,
  T: number,
  threads: number,
): Promise<GemmProbe> {
  const probe = matmulProbe(BertEngine.trainingGraph(config), { B, T, N: B * T });
  const session = await ort.InferenceSession.create(probe.model, sessionOptions(threads));
  const rng = new Rng(11, 0);
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of probe.inputs) {
    const data = new Float32Array(inp.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.05;
    feeds[inp.name] = new ort.Tensor('float32', data, inp.shape);
  }
  return {
    flops: probe.flops,
    async time() {
      const t0 = performance.now();
      await session.run(feeds);
      return (performance.now() - t0) / 1000;
    },
    release: () => session.release(),
  };
}

/** GFLOP/s of a 2048×2048 by 2048×2048 float32 MatMul through onnxruntime (best of `n`). */
async function sgemmRate(threads: number, n = 5): Promise<number> {
  const { Graph } = await import('../src/student/graph/index.js');
  const g = new Graph('float', false);
  const a = g.input('a', [2048, 2048]);
  const b = g.input('b', [2048, 2048]);
  g.output(g.op1('MatMul', [a, b], [2048, 2048]), 'c');
  const session = await ort.InferenceSession.create(g.toModel(), sessionOptions(threads));
  const data = new Float32Array(2048 * 2048).fill(0.5);
  const feeds = { a: new ort.Tensor('float32', data, [2048, 2048]), b: new ort.Tensor('float32', data, [2048, 2048]) };
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await session.release();
  return (2 * 2048 ** 3) / best / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function gemmFigures(flops: number, stepS: number[], probeS: number[], fractions: number[]) {
  return {
    step_gflop: flops / 1e9,
    step_gflops: flops / median(stepS) / 1e9,
    gemm_gflops: flops / median(probeS) / 1e9,
    gemm_fraction: median(fractions),
  };
}

function gemmLine(f: TrainBenchFigures): string {
  return (
    `matrix products: ${f.step_gflop.toFixed(1)} GFLOP per step; whole step ${f.step_gflops.toFixed(1)} GFLOP/s, products alone ` +
    `${f.gemm_gflops.toFixed(1)} GFLOP/s → gemm_fraction ${f.gemm_fraction.toFixed(3)} (sgemm 2048²: ${f.sgemm_2048_gflops.toFixed(1)} GFLOP/s)`
  );
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
  const probe = await gemmProbe(config, B, T, threads);
  const script = fileURLToPath(new URL('./train_torch.py', import.meta.url));
  const python = values['no-torch'] ? null : findPython();
  const withTorch = python !== null && existsSync(script);
  const ours: number[][] = [];
  const torchSteps: number[][] = [];
  const feedsMs: number[] = [];
  const optMs: number[] = [];
  const runMs: number[] = [];
  const load0 = loadavg()[0]!;
  let torchVersion = '';
  let torchError: string | null = null;
  const probeS: number[] = [];
  const fractions: number[] = [];
  if (values.interleave && withTorch) {
    return interleaved(engine, batch, {
      python: python!,
      script,
      config,
      B,
      T,
      steps,
      warmup,
      threads,
      model,
      log,
      probe,
    });
  }
  for (let r = 0; r < rounds; r++) {
    const times: number[] = [];
    for (let i = 0; i < (r === 0 ? warmup : 0) + steps; i++) {
      const t0 = performance.now();
      await engine.trainStep(batch, 5e-5, DEFAULT_OPTIMIZER);
      const dt = (performance.now() - t0) / 1000;
      const pt = await probe.time();
      if (r > 0 || i >= warmup) {
        times.push(dt);
        probeS.push(pt);
        fractions.push(pt / dt);
        feedsMs.push(engine.lastTimings.feeds);
        optMs.push(engine.lastTimings.optimizer);
        runMs.push(engine.lastTimings.run);
      }
    }
    ours.push(times);
    log(
      `round ${r + 1}/${rounds} nerd (onnxruntime): ${median(times).toFixed(3)} s/step, ${(n / median(times)).toFixed(0)} tokens/s`,
    );
    if (withTorch && !torchError) {
      try {
        const out = execFileSync(
          python!,
          [script, JSON.stringify({ config, batch: B, seq: T, steps, warmup, threads })],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const t = JSON.parse(out.trim().split('\n').pop()!) as { step_s_all: number[]; torch: string };
        torchSteps.push(t.step_s_all);
        torchVersion = t.torch;
        log(
          `round ${r + 1}/${rounds} PyTorch ${t.torch}: ${median(t.step_s_all).toFixed(3)} s/step → nerd is ${(median(t.step_s_all) / median(times)).toFixed(2)}×`,
        );
      } catch (e) {
        torchError = String(e);
      }
    }
  }
  await engine.release();
  await probe.release();
  const all = ours.flat();
  const figures: TrainBenchFigures = {
    model,
    batch: B,
    seq: T,
    threads,
    steps,
    rounds,
    step_s: median(all),
    train_tokens_per_s: n / median(all),
    step_s_all: all,
    js_ms: { feeds: median(feedsMs), optimizer: median(optMs) },
    run_ms: median(runMs),
    load_average: [load0, loadavg()[0]!],
    ...gemmFigures(probe.flops, all, probeS, fractions),
    sgemm_2048_gflops: await sgemmRate(threads),
  };
  log(gemmLine(figures));
  if (torchError) figures.torch = { error: torchError };
  else if (torchSteps.length > 0) {
    const tAll = torchSteps.flat();
    figures.torch = {
      step_s: median(tAll),
      train_tokens_per_s: n / median(tAll),
      version: torchVersion,
      step_s_all: tAll,
    };
    figures.speedup_per_round = torchSteps.map((t, i) => median(t) / median(ours[i]!));
    figures.speedup_vs_torch = median(figures.speedup_per_round);
    log(
      `nerd ${figures.step_s.toFixed(3)} s/step (${figures.train_tokens_per_s.toFixed(0)} tokens/s) vs PyTorch ${figures.torch.step_s.toFixed(3)} s/step (${figures.torch.train_tokens_per_s.toFixed(0)} tokens/s): ${figures.speedup_vs_torch.toFixed(2)}× (median of ${rounds} rounds)`,
    );
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
  o: {
    python: string;
    script: string;
    config: unknown;
    B: number;
    T: number;
    steps: number;
    warmup: number;
    threads: number;
    model: string;
    log: (s: string) => void;
    probe: GemmProbe;
  },
): Promise<TrainBenchFigures> {
  const child = spawn(
    o.python,
    [
      o.script,
      JSON.stringify({
        config: o.config,
        batch: o.B,
        seq: o.T,
        steps: 0,
        warmup: 0,
        threads: o.threads,
        interleave: true,
      }),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
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
  const runMs: number[] = [];
  const probeS: number[] = [];
  const load0 = loadavg()[0]!;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t0 = performance.now();
    await engine.trainStep(batch, 5e-5, DEFAULT_OPTIMIZER);
    const dt = (performance.now() - t0) / 1000;
    const pt = await o.probe.time();
    const tt = await torchStep();
    if (i < o.warmup) continue;
    probeS.push(pt);
    ours.push(dt);
    theirs.push(tt);
    feedsMs.push(engine.lastTimings.feeds);
    optMs.push(engine.lastTimings.optimizer);
    runMs.push(engine.lastTimings.run);
    o.log(
      `step ${i + 1 - o.warmup}/${o.steps}: nerd ${dt.toFixed(3)} s, PyTorch ${tt.toFixed(3)} s (${(tt / dt).toFixed(2)}×)`,
    );
  }
  child.stdin.end();
  await engine.release();
  await o.probe.release();
  const n = o.B * o.T;
  const pairs = theirs.map((t, i) => t / ours[i]!);
  const figures: TrainBenchFigures = {
    model: o.model,
    batch: o.B,
    seq: o.T,
    threads: o.threads,
    steps: o.steps,
    rounds: 1,
    step_s: median(ours),
    train_tokens_per_s: n / median(ours),
    step_s_all: ours,
    js_ms: { feeds: median(feedsMs), optimizer: median(optMs) },
    run_ms: median(runMs),
    load_average: [load0, loadavg()[0]!],
    torch: {
      step_s: median(theirs),
      train_tokens_per_s: n / median(theirs),
      version: hello.torch ?? '',
      step_s_all: theirs,
    },
    speedup_per_round: pairs,
    speedup_vs_torch: median(pairs),
    ...gemmFigures(
      o.probe.flops,
      ours,
      probeS,
      probeS.map((p, i) => p / ours[i]!),
    ),
    sgemm_2048_gflops: await sgemmRate(o.threads),
  };
  o.log(gemmLine(figures));
  o.log(
    `nerd ${figures.step_s.toFixed(3)} s/step (${figures.train_tokens_per_s.toFixed(0)} tokens/s) vs PyTorch ${median(theirs).toFixed(3)} s/step (${(n / median(theirs)).toFixed(0)} tokens/s): ${figures.speedup_vs_torch!.toFixed(2)}× (median of ${pairs.length} interleaved pairs)`,
  );
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
