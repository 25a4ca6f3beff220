/**
 * Serving throughput: `POST /predict` (sentences/s) of the real `nerd serve` process (child process, model
 * in its worker thread, micro-batching on) with C concurrent HTTP clients on loopback, each sending one raw
 * text per request; against the same texts through @huggingface/transformers' token-classification
 * pipeline on the same checkpoint folder (same onnx/model.onnx, tokenizer.json), measured in the same run:
 *   - tjs_concurrent: C concurrent callers, one text per pipeline call (as a server wrapping the pipeline
 *     would call it);
 *   - tjs_batched: the pipeline called with C texts at a time (its own padding batch).
 * The ratio is taken against the better of the two. Both use onnxruntime-node with all cores; both return
 * entity groups (`aggregation_strategy: "simple"` for the pipeline). Also reported: the predictor called
 * directly (no HTTP) on one thread with all texts in one call, the per-core ceiling. `nerd serve` picks
 * its worker layout by calibration at start (cached; see src/serve/calibrate.ts) unless `--workers` or
 * `--threads` are given. Rounds interleave the two (serve, then the pipeline, then serve again...) so
 * load from other processes hits both alike; `ratio_median_of_rounds` is the figure to quote on a
 * shared machine. `--quantized` runs onnx/model_quantized.onnx in both.
 *
 * Default model: a fresh `mini` checkpoint (H256/L4/A4, bert-base-cased vocabulary; untrained weights cost
 * the same as trained ones). Texts: the first N sentences of CoNLL-2003 dev, tokens joined by spaces.
 *
 *   npm run bench -- serve [--model DIR] [--preset mini] [--sentences 512] [--clients 16] [--rounds 2]
 *                          [--workers N --threads N --max-wait-ms N]   (passed to `nerd serve`)
 *                          [--tjs-threads N]   (ONNX Runtime threads of the pipeline; default: its own)
 *                          [--quantized] [--json]   (figures are always JSON)
 *   npx tsx bench/serve.ts --sentences 256
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';
import { loadPredictor } from '../src/serve/model.js';
import type { PresetName } from '../src/student/presets.js';
import { conllDev } from '../test/serve/fixtures.js';
import { makeCheckpoint } from '../test/serve/model-fixture.js';

export interface ServeBenchFigures {
  model: string;
  serve_flags: string;
  tjs_threads: number | string;
  sentences: number;
  clients: number;
  rounds: number;
  serve_sentences_per_s: number;
  serve_batches: number;
  serve_mean_batch: number;
  tjs_concurrent_sentences_per_s: number;
  tjs_batched_sentences_per_s: number;
  /** the predictor called directly (no HTTP), one thread, all texts in one call: the per-core ceiling */
  direct_one_thread_sentences_per_s: number;
  /** serve ÷ the better transformers.js figure (best of rounds each) */
  ratio: number;
  /** CPU time per sentence, all threads of every process involved (server + clients; the pipeline's
   * process): how much machine each answer costs, whatever else runs on the machine */
  serve_cpu_ms_per_sentence: number | null;
  /** of which the `nerd serve` process (HTTP, JSON, model workers) */
  serve_server_cpu_ms_per_sentence: number | null;
  tjs_concurrent_cpu_ms_per_sentence: number;
  /** median over rounds of that round's serve ÷ better transformers.js (robust to load from others) */
  ratio_median_of_rounds: number;
  ratios_by_round: number[];
  /** the machine: lscpu's model name, cores Node may use, vector extensions */
  cpu: string;
  cores: number;
  avx2: boolean;
  avx512: boolean;
  /** 1-minute load average at the start and end (other processes on the machine inflate every figure) */
  load_average: [number, number];
  /** sentences per second per core (the rates above ÷ cores) */
  serve_sentences_per_s_per_core: number;
  tjs_best_sentences_per_s_per_core: number;
  /** the worker layout `nerd serve` used (calibrated unless --workers/--threads were given) */
  serve_layout: string;
  quantized: boolean;
}

function machine(): { cpu: string; avx2: boolean; avx512: boolean } {
  let flags = '';
  let cpu = os.cpus()[0]?.model.trim() ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    flags = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
    cpu = /^model name\s*:(.*)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: the model name from Node, vector flags unknown
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  return { cpu, avx2: has('avx2'), avx512: has('avx512f') };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function startServer(model: string, extra: string[]): Promise<{ child: ChildProcess; url: string; layout: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src/cli.ts'), 'serve', '--model', model, '--port', '0', ...extra],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
    process.stderr.write(d);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      const layout = /layout ([^(]*)/.exec(err)?.[1]?.trim() ?? (extra.join(' ') || 'default');
      if (m) resolve({ child, url: m[1]!, layout });
    });
    child.on('exit', (code) => reject(new Error(`nerd serve exited with ${code}: ${out}`)));
  });
}

/** runs `texts` through `call` with `clients` concurrent loops; returns items per second */
async function concurrently(
  texts: string[],
  clients: number,
  call: (text: string) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < texts.length) await call(texts[next++]!);
    }),
  );
  return texts.length / ((performance.now() - t0) / 1000);
}

async function stats(url: string): Promise<{ batches: number; requests: number }> {
  return (await (await fetch(`${url}/stats`)).json()) as { batches: number; requests: number };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** CPU seconds (user + system, all threads) a process has used so far; Linux /proc only */
function procCpuS(pid: number): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return undefined;
  const fields = readFileSync(file, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  // after "pid (comm) ": state is field 3, utime field 14, stime field 15 (1-based) at clock ticks of 100 Hz
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const selfCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function run(args: string[]): Promise<ServeBenchFigures> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      preset: { type: 'string', default: 'mini' },
      sentences: { type: 'string', default: '512' },
      clients: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '2' },
      workers: { type: 'string' },
      threads: { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'tjs-threads': { type: 'string' },
      quantized: { type: 'boolean', default: false },
      // the figures are always printed as JSON; accepted for `npm run bench -- serve --json`
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.sentences);
  const clients = Number(values.clients);
  const rounds = Number(values.rounds);
  const model = values.model ?? (await makeCheckpoint(values.preset as PresetName));
  const texts = conllDev(n + 32, 1).map((s) => s.tokens.join(' '));
  const warm = texts.slice(n);
  const work = texts.slice(0, n);
  process.stderr.write(`serve bench: ${model}, ${n} sentences, ${clients} clients, ${rounds} rounds\n`);

  const extra: string[] = [];
  if (values.workers) extra.push('--workers', values.workers);
  if (values.threads) extra.push('--threads', values.threads);
  if (values['max-wait-ms']) extra.push('--max-wait-ms', values['max-wait-ms']);
  if (values.quantized) extra.push('--quantized');
  const load0 = os.loadavg()[0]!;
  const { child, url, layout } = await startServer(model, extra);
  // the clients share the machine with the server: node:http with keep-alive costs them less CPU than fetch
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const target = new URL(`${url}/predict`);
  const post = (text: string) =>
    new Promise<unknown>((resolve, reject) => {
      const body = JSON.stringify({ texts: [text] });
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) reject(new Error(`POST /predict: ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(path.resolve(model));
  const tjsThreads = values['tjs-threads'] ? Number(values['tjs-threads']) : undefined;
  const ner = await pipeline('token-classification', path.basename(model), {
    // the same file as the server: onnx/model.onnx (fp32) or onnx/model_quantized.onnx (q8)
    dtype: values.quantized ? 'q8' : 'fp32',
    ...(tjsThreads ? { session_options: { intraOpNumThreads: tjsThreads } } : {}),
  });
  const tjsOne = (text: string) => ner(text, { aggregation_strategy: 'simple' });

  const serveRates: number[] = [];
  const tjsRates: number[] = [];
  const tjsBatchRates: number[] = [];
  let batches = 0;
  let requests = 0;
  let serveCpu = 0;
  let serverOnlyCpu = 0;
  let tjsCpu = 0;
  let serveCpuKnown = true;
  try {
    await concurrently(warm, clients, post);
    await concurrently(warm, clients, tjsOne);
    for (let r = 0; r < rounds; r++) {
      const before = await stats(url);
      const c0 = procCpuS(child.pid!);
      const s0 = selfCpuS();
      serveRates.push(await concurrently(work, clients, post));
      const c1 = procCpuS(child.pid!);
      serveCpu += selfCpuS() - s0;
      if (c0 === undefined || c1 === undefined) serveCpuKnown = false;
      else {
        serveCpu += c1 - c0;
        serverOnlyCpu += c1 - c0;
      }
      const after = await stats(url);
      batches += after.batches - before.batches;
      requests += after.requests - before.requests;
      const t0c = selfCpuS();
      tjsRates.push(await concurrently(work, clients, tjsOne));
      tjsCpu += selfCpuS() - t0c;
      const t0 = performance.now();
      for (let i = 0; i < work.length; i += clients)
        await ner(work.slice(i, i + clients), { aggregation_strategy: 'simple' });
      tjsBatchRates.push(work.length / ((performance.now() - t0) / 1000));
    }
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await ner.dispose();
  }
  // per-core ceiling: the predictor in this thread, one ONNX Runtime thread, all texts in one call
  const direct = await loadPredictor(model, { threads: 1, quantized: values.quantized });
  await direct.predictTexts(warm);
  const t0 = performance.now();
  await direct.predictTexts(work);
  const directRate = work.length / ((performance.now() - t0) / 1000);
  await direct.close?.();

  const best = (xs: number[]) => Math.max(...xs);
  const byRound = serveRates.map((r, i) => r / Math.max(tjsRates[i]!, tjsBatchRates[i]!));
  const serve = best(serveRates);
  const tjs = best(tjsRates);
  const tjsBatched = best(tjsBatchRates);
  const m = machine();
  const cores = os.availableParallelism();
  return {
    model,
    serve_flags: extra.join(' ') || '(defaults)',
    tjs_threads: tjsThreads ?? 'default (all cores)',
    sentences: n,
    clients,
    rounds,
    serve_sentences_per_s: round1(serve),
    serve_batches: batches,
    serve_mean_batch: round1(requests / Math.max(1, batches)),
    tjs_concurrent_sentences_per_s: round1(tjs),
    tjs_batched_sentences_per_s: round1(tjsBatched),
    direct_one_thread_sentences_per_s: round1(directRate),
    ratio: Math.round((serve / Math.max(tjs, tjsBatched)) * 100) / 100,
    serve_cpu_ms_per_sentence: serveCpuKnown ? round2((serveCpu * 1000) / (rounds * n)) : null,
    serve_server_cpu_ms_per_sentence: serveCpuKnown ? round2((serverOnlyCpu * 1000) / (rounds * n)) : null,
    tjs_concurrent_cpu_ms_per_sentence: round2((tjsCpu * 1000) / (rounds * n)),
    ratio_median_of_rounds: Math.round(median(byRound) * 100) / 100,
    ratios_by_round: byRound.map((r) => Math.round(r * 100) / 100),
    cpu: m.cpu,
    cores,
    avx2: m.avx2,
    avx512: m.avx512,
    load_average: [round2(load0), round2(os.loadavg()[0]!)],
    serve_sentences_per_s_per_core: round1(serve / cores),
    tjs_best_sentences_per_s_per_core: round1(Math.max(tjs, tjsBatched) / cores),
    serve_layout: layout,
    quantized: values.quantized ?? false,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const figures = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
