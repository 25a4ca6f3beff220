/**
 * `nerd export`: writes a model folder's inference graphs where transformers.js looks for them —
 * onnx/model.onnx (fp32; exported from the weights when the folder has none, e.g. a Hugging Face
 * checkpoint) and, with `--quantize int8`, onnx/model_quantized.onnx (quantize.ts), which transformers.js
 * loads for `dtype: 'q8'` and `nerd predict --quantized` / `nerd serve` run on request.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { quantizeModel, type QuantizeReport, type WeightType } from './quantize.js';

/** writes through a temporary beside the file and a rename, so a reader never sees half a model */
function writeAtomic(file: string, bytes: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new InputError(`cannot write: ${(err as Error).message}`, file);
  }
}

export interface ExportResult {
  dir: string;
  /** onnx/model.onnx was written (it was missing) */
  wroteFp32: boolean;
  quantized?: QuantizeReport & { file: string };
}

/** Exports `spec`'s graphs; see the file comment. */
export async function exportModel(
  spec: string,
  opts: { quantize?: WeightType; threads?: number } = {},
): Promise<ExportResult> {
  const { openModelFolder } = await import('./model-folder.js');
  const opened = await openModelFolder(spec, { threads: opts.threads });
  const onnxDir = path.join(opened.dir, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  let fp32: Uint8Array;
  let wroteFp32 = false;
  if (typeof opened.onnx === 'string') {
    fp32 = readFileSync(opened.onnx);
  } else {
    fp32 = opened.onnx;
    writeAtomic(path.join(onnxDir, 'model.onnx'), fp32);
    wroteFp32 = true;
  }
  const result: ExportResult = { dir: opened.dir, wroteFp32 };
  if (opts.quantize) {
    const { bytes, report } = quantizeModel(fp32, { weightType: opts.quantize });
    if (report.quantized === 0)
      throw new InputError('the graph has no MatMul or Gemm with a constant weight to quantize', opened.dir);
    const file = path.join(onnxDir, 'model_quantized.onnx');
    writeAtomic(file, bytes);
    result.quantized = { ...report, file };
  }
  return result;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write onnx/model.onnx (and with --quantize int8, onnx/model_quantized.onnx) into a model folder')
    .requiredOption(
      '--model <dir|ORG/NAME>',
      'checkpoint folder (e.g. OUT/best of nerd train) or hub name ORG/NAME[@REVISION]',
    )
    .option('--quantize <type>', 'int8: dynamic quantization, weights per channel (int8), activations at run time')
    .option(
      '--weight-type <type>',
      'stored weight type with --quantize: int8 (default) or uint8 (for CPUs where int8 saturates)',
      'int8',
    )
    .action(async (flags: { model: string; quantize?: string; weightType: string }) => {
      if (flags.quantize !== undefined && flags.quantize !== 'int8')
        throw new InputError(`--quantize: only int8 is supported, got "${flags.quantize}"`);
      if (flags.weightType !== 'int8' && flags.weightType !== 'uint8') {
        throw new InputError(`--weight-type: int8 or uint8, got "${flags.weightType}"`);
      }
      const r = await exportModel(flags.model, {
        quantize: flags.quantize ? (flags.weightType as WeightType) : undefined,
      });
      const lines: string[] = [];
      lines.push(
        r.wroteFp32
          ? `wrote ${path.join(r.dir, 'onnx', 'model.onnx')} (exported from the weights)`
          : `${path.join(r.dir, 'onnx', 'model.onnx')} exists`,
      );
      if (r.quantized) {
        const q = r.quantized;
        const mb = (n: number) => (n / 1e6).toFixed(1);
        lines.push(
          `wrote ${q.file}: ${q.quantized} matrix products in ${flags.weightType} (${mb(q.bytesIn)} MB → ${mb(q.bytesOut)} MB)`,
        );
        for (const why of q.skipped) lines.push(`left in float: ${why}`);
      }
      process.stderr.write(lines.map((l) => `nerd: ${l}\n`).join(''));
    });
}
