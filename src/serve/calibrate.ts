/**
 * Start-up calibration of `nerd serve`: how many model workers, how many ONNX Runtime threads each, and
 * how many sentences per forward pass give the most sentences per second on THIS machine for THIS model.
 * Which layout wins depends on the CPU (cache sizes, AVX-512 or not, SMT) and on the model's size, so it is
 * measured rather than assumed: each candidate layout runs the same short workload (a fixed set of
 * news-like sentences of mixed length, sent as concurrent calls the way the server sends micro-batches)
 * for about a second, and the fastest wins.
 *
 * The result is cached in the OS cache folder (`$XDG_CACHE_HOME/nerd` or `~/.cache/nerd`,
 * serve-tuning.json), keyed by a hash of the ONNX file, the CPU model, the core count and the
 * onnxruntime version, so a restart on the same machine starts at once. Delete the file (or pass
 * `--recalibrate`) to measure again.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { loadPredictorPool } from './pool.js';

export interface ServeLayout {
  workers: number;
  threads: number;
  /** sentences per forward pass inside a model call */
  batchSize: number;
}

export interface ServeTuning extends ServeLayout {
  sentencesPerSecond: number;
  cpu: string;
  cores: number;
  measuredAt: string;
  /** every layout tried, with its rate */
  tried: Array<ServeLayout & { sentencesPerSecond: number }>;
}

/** sentences of mixed length (3 to 45 words), in the register the models are trained on */
const SAMPLE = [
  'EU rejects German call to boycott British lamb .',
  'Peter Blackburn',
  'BRUSSELS 1996-08-22',
  'The European Commission said on Thursday it disagreed with German advice to consumers to shun British lamb until scientists determine whether mad cow disease can be transmitted to sheep .',
  "Germany 's representative to the European Union 's veterinary committee Werner Zwingmann said on Wednesday consumers should buy sheepmeat from countries other than Britain until the scientific advice was clearer .",
  'Fischler proposed EU-wide measures after reports from Britain and France that under laboratory conditions sheep could contract Bovine Spongiform Encephalopathy ( BSE ) -- mad cow disease .',
  'Spanish Farm Minister Loyola de Palacio had earlier accused Fischler at an EU farm ministers \' meeting of causing unjustified alarm through " dangerous generalisation . "',
  "Only France and Britain backed Fischler 's proposal .",
  "The Commission 's chief spokesman Nikolaus van der Pas told a news briefing : \" We do n't support any such recommendation because we do n't see any grounds for it . \"",
  'He said further scientific study was required and if it was found that action was needed it should be taken by the European Union .',
  'Sheep have long been known to contract scrapie , a brain-wasting disease similar to BSE which is believed to have been transferred to cattle through feed containing animal waste .',
  'Rabinovich is winding up his term as ambassador .',
  "Israel 's outgoing peace negotiator with Syria said on Thursday current tensions between the two countries appeared to be a storm in a teacup .",
  "Itamar Rabinovich , who as Israel 's ambassador to Washington conducted unfruitful negotiations with Syria , told Israel Radio it looked like Damascus wanted to talk rather than fight .",
  'Polish diplomat denies nurses stranded in Libya .',
  'TUNIS 1996-08-22',
];

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'nerd', 'serve-tuning.json');
}

async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex').slice(0, 16);
}

function ortVersion(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function cpuModel(): string {
  return os.cpus()[0]?.model.trim() || 'unknown CPU';
}

/** the layouts worth trying on `cores` cores */
export function candidateLayouts(cores: number): ServeLayout[] {
  const splits = new Set<number>([cores, Math.max(1, Math.floor(cores / 2)), 1]);
  const out: ServeLayout[] = [];
  for (const workers of splits) {
    const threads = Math.max(1, Math.floor(cores / workers));
    for (const batchSize of [8, 32]) out.push({ workers, threads, batchSize });
  }
  return out;
}

/** sentences per second of one layout on the sample (about `seconds` of work after one warm-up call) */
async function measure(dir: string, layout: ServeLayout, quantized: boolean, seconds: number): Promise<number> {
  const pool = await loadPredictorPool(dir, layout.workers, {
    threads: layout.threads,
    batchSize: layout.batchSize,
    quantized,
  });
  try {
    // calls of 32 texts, as the scheduler sends them, `workers` at a time
    const call = SAMPLE.concat(SAMPLE);
    await Promise.all(Array.from({ length: layout.workers }, () => pool.predictTexts(call)));
    let done = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: layout.workers }, async () => {
        while (performance.now() < end) {
          await pool.predictTexts(call);
          done += call.length;
        }
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  } finally {
    await pool.close();
  }
}

export interface TuneOptions {
  cores?: number;
  quantized?: boolean;
  /** ignore the cache and measure again */
  recalibrate?: boolean;
  /** seconds of work per layout (default 0.8) */
  seconds?: number;
  log?: (line: string) => void;
}

/** the best layout for the model in `dir` on this machine: from the cache, else measured and cached */
export async function tuneServe(
  dir: string,
  onnxFile: string,
  opts: TuneOptions = {},
): Promise<ServeTuning & { cached: boolean }> {
  const cores = opts.cores ?? os.availableParallelism();
  const cpu = cpuModel();
  const key = [await fileHash(onnxFile), cpu, cores, ortVersion(), opts.quantized ? 'int8' : 'fp32'].join(' | ');
  const file = cacheFile();
  let cache: Record<string, ServeTuning> = {};
  if (existsSync(file)) {
    try {
      cache = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      cache = {}; // a damaged cache is measured again and rewritten
    }
  }
  const hit = cache[key];
  if (hit && !opts.recalibrate) return { ...hit, cached: true };
  const tried: ServeTuning['tried'] = [];
  for (const layout of candidateLayouts(cores)) {
    const rate = await measure(dir, layout, opts.quantized ?? false, opts.seconds ?? 0.8);
    tried.push({ ...layout, sentencesPerSecond: Math.round(rate) });
    opts.log?.(
      `calibration: ${layout.workers} workers × ${layout.threads} threads, ${layout.batchSize} per pass: ${Math.round(rate)} sentences/s`,
    );
  }
  const best = tried.reduce((a, b) => (b.sentencesPerSecond > a.sentencesPerSecond ? b : a));
  const tuning: ServeTuning = {
    workers: best.workers,
    threads: best.threads,
    batchSize: best.batchSize,
    sentencesPerSecond: best.sentencesPerSecond,
    cpu,
    cores,
    measuredAt: new Date().toISOString(),
    tried,
  };
  cache[key] = tuning;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (err) {
    opts.log?.(`calibration: could not cache the result in ${file}: ${(err as Error).message}`);
  }
  return { ...tuning, cached: false };
}
