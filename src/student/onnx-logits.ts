/**
 * Logits from an exported inference model (ONNX, inputs input_ids/attention_mask[/token_type_ids] int64
 * [batch, seq], output logits [batch, seq, labels]) through onnxruntime-node: the fp32 onnx/model.onnx or
 * the int8 onnx/model_quantized.onnx (quantize.ts), which take the same inputs.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Batch } from './types.js';

export class OnnxLogits {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly numLabels: number,
  ) {}

  static async create(model: string | Uint8Array, numLabels: number, threads?: number): Promise<OnnxLogits> {
    const opts: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, opts)
        : await ort.InferenceSession.create(model, opts);
    return new OnnxLogits(session, numLabels);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async run(batch: Batch): Promise<Float32Array> {
    const dims = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      let data: BigInt64Array;
      if (name === 'input_ids') data = BigInt64Array.from(batch.inputIds, (x) => BigInt(x));
      else if (name === 'attention_mask') data = BigInt64Array.from(batch.attentionMask, (x) => BigInt(x));
      else if (name === 'token_type_ids') data = new BigInt64Array(batch.inputIds.length);
      else throw new Error(`the ONNX model has an input "${name}" this predictor does not know`);
      feeds[name] = new ort.Tensor('int64', data, dims);
    }
    const result = await this.session.run(feeds);
    const out = result['logits'] ?? result[this.session.outputNames[0]!]!;
    return out.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
