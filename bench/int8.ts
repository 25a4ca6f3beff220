/**
 * `npm run bench -- int8 --model DIR [--sentences N] [--rounds R] [--threads T]`: `nerd predict`'s path
 * (streamed file prediction) on the fp32 and the int8 graph, and transformers.js' token-classification
 * pipeline loading the same int8 file (`dtype: 'q8'`), on the first N sentences of CoNLL-2003 test, in
 * turns (R rounds), in one process and one run: sentences/s for each and the ratios. DIR needs
 * onnx/model_quantized.onnx (`nerd export --model DIR --quantize int8`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedDataPath } from '../src/package-info.js';
import { Predictor } from '../src/student/predict.js';
import { predictFile } from '../src/student/predict-stream.js';

function flag(args: string[], name: string, dflt?: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
}

export async function run(args: string[]): Promise<unknown> {
  const model = path.resolve(flag(args, '--model') ?? '');
  if (!flag(args, '--model'))
    throw new Error('usage: npm run bench -- int8 --model DIR [--sentences N] [--rounds R] [--threads T]');
  const n = Number(flag(args, '--sentences', '1000'));
  const rounds = Number(flag(args, '--rounds', '2'));
  const threads = Number(flag(args, '--threads', '1'));
  const blocks = readFileSync(sharedDataPath('conll2003/test.txt'), 'utf8')
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '' && !b.startsWith('-DOCSTART-'))
    .slice(0, n);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-bench-int8-'));
  const input = path.join(tmp, 'in.conll');
  writeFileSync(input, `${blocks.join('\n\n')}\n\n`);
  const texts = blocks.map((b) =>
    b
      .split('\n')
      .map((l) => l.split(' ')[0])
      .join(' '),
  );

  const fp32 = await Predictor.load(model, { threads });
  const int8 = await Predictor.load(model, { threads, quantized: true });
  const { env, pipeline } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(model);
  const tjs = await pipeline('token-classification', path.basename(model), {
    dtype: 'q8',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  } as Parameters<typeof pipeline>[2]);

  const secs: Record<string, number[]> = { fp32: [], int8: [], 'transformers.js q8': [] };
  const time = async (name: string, f: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    await f();
    secs[name]!.push(Number(process.hrtime.bigint() - t0) / 1e9);
  };
  try {
    for (let r = 0; r < rounds; r++) {
      await time('fp32', () => predictFile(fp32, input, path.join(tmp, 'fp32.conll')));
      await time('int8', () => predictFile(int8, input, path.join(tmp, 'int8.conll')));
      await time('transformers.js q8', async () => {
        for (let i = 0; i < texts.length; i += 32) await tjs(texts.slice(i, i + 32), { ignore_labels: [] });
      });
    }
  } finally {
    await fp32.close();
    await int8.close();
    await tjs.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
  const rate = (name: string) => n / Math.min(...secs[name]!);
  const figures = {
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()} (load ${os.loadavg()[0]!.toFixed(1)})`,
    sentences: n,
    threads,
    sentencesPerS: Object.fromEntries(Object.keys(secs).map((k) => [k, Math.round(rate(k))])),
    ratios: {
      int8OverFp32: Number((rate('int8') / rate('fp32')).toFixed(2)),
      int8OverTransformersJs: Number((rate('int8') / rate('transformers.js q8')).toFixed(2)),
    },
  };
  return figures;
}
