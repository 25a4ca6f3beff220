/**
 * int8 dynamic quantization (quantize.ts): the graph runs in onnxruntime-node's CPU provider, its logits
 * stay close to fp32 with the same arg-max almost everywhere, every constant-weight matrix product is
 * quantized, and transformers.js picks the file up for `dtype: 'q8'`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { decodeModel } from '../../src/student/graph/onnx.js';
import { presetConfig } from '../../src/student/presets.js';
import { quantizeColumns, quantizeModel } from '../../src/student/quantize.js';
import { Tokenizer } from '../../src/student/tokenizer.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];

let tokenizer: Tokenizer;
let fp32: Uint8Array;
let dir: string;
let texts: string[];

/** logits [B, T, L] and the mask of real positions for some CoNLL dev sentences */
async function run(model: Uint8Array | string, ids: number[][]): Promise<{ logits: Float32Array; T: number }> {
  const B = ids.length;
  const T = Math.max(...ids.map((r) => r.length));
  const input = new BigInt64Array(B * T);
  const mask = new BigInt64Array(B * T);
  ids.forEach((r, b) =>
    r.forEach((x, t) => {
      input[b * T + t] = BigInt(x);
      mask[b * T + t] = 1n;
    }),
  );
  const session = await ort.InferenceSession.create(model as Uint8Array, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({
      input_ids: new ort.Tensor('int64', input, [B, T]),
      attention_mask: new ort.Tensor('int64', mask, [B, T]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]),
    });
    return { logits: out.logits!.data as Float32Array, T };
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  tokenizer = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'));
  const config = presetConfig('tiny', {
    vocabSize: tokenizer.vocabSize,
    labels: LABELS,
    overrides: { max_position_embeddings: 128 },
  });
  const params = initParams(config, 7);
  // untrained weights give near-tied logits; a larger classifier makes the arg-max mean something
  const w = params.get('classifier.weight')!;
  for (let i = 0; i < w.data.length; i++) w.data[i]! *= 40;
  const engine = await BertEngine.create(config, params, { threads: 1 });
  fp32 = engine.inferenceModel();
  await engine.release();
  dir = mkdtempSync(path.join(tmpdir(), 'nerd-q8-'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toTokenizerJson()));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizer.tokenizerConfig()));
  const blocks = readFileSync(path.join(DATA, 'conll2003/dev.txt'), 'utf8')
    .split(/\n\s*\n/)
    .slice(1, 101);
  texts = blocks.map((b) =>
    b
      .split('\n')
      .map((l) => l.split(' ')[0])
      .join(' '),
  );
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('int8 quantization', () => {
  it('quantizes a column per scale, symmetric, within half a step', () => {
    const w = Float32Array.from([0.5, -2, 0.25, 1, -0.5, 0.001]); // [K=3 × N=2]
    const { q, scale, zeroPoint } = quantizeColumns(w, 3, 2, 'int8');
    expect([...scale]).toEqual([Math.fround(0.5 / 127), Math.fround(2 / 127)]);
    expect([...zeroPoint]).toEqual([0, 0]);
    const s8 = new Int8Array(q.buffer);
    for (let i = 0; i < 6; i++)
      expect(Math.abs(s8[i]! * scale[i % 2]! - w[i]!)).toBeLessThanOrEqual(scale[i % 2]! / 2 + 1e-7);
    const u = quantizeColumns(w, 3, 2, 'uint8');
    expect([...u.zeroPoint]).toEqual([128, 128]);
    expect([...u.q].map((x) => x - 128)).toEqual([...s8]);
  });

  it('rewrites every constant-weight product and stays close to fp32 logits in onnxruntime-node', async () => {
    const { bytes, report } = quantizeModel(fp32);
    expect(report.quantized).toBe(2 * 6 + 1); // tiny: 2 layers × (Q, K, V, attention out, FFN in, FFN out) + classifier
    expect(report.skipped).toEqual([]);
    const graph = (
      decodeModel(bytes) as {
        graph: { node: Array<{ op_type: string; input: string[] }>; initializer: Array<{ name: string }> };
      }
    ).graph;
    const constants = new Set(graph.initializer.map((t) => t.name));
    const floatProducts = graph.node.filter(
      (n) => (n.op_type === 'Gemm' || n.op_type === 'MatMul') && constants.has(n.input[1]!),
    );
    expect(floatProducts).toEqual([]);
    expect(graph.node.filter((n) => n.op_type === 'DynamicQuantizeMatMul')).toHaveLength(13);

    const ids = texts.map((t) => tokenizer.encode(t).ids);
    const a = await run(fp32, ids);
    const b = await run(bytes, ids);
    const L = LABELS.length;
    let num = 0;
    let den = 0;
    let agree = 0;
    let total = 0;
    ids.forEach((r, s) => {
      for (let t = 0; t < r.length; t++) {
        const o = (s * a.T + t) * L;
        let ba = 0;
        let bb = 0;
        for (let l = 0; l < L; l++) {
          num += (a.logits[o + l]! - b.logits[o + l]!) ** 2;
          den += a.logits[o + l]! ** 2;
          if (a.logits[o + l]! > a.logits[o + ba]!) ba = l;
          if (b.logits[o + l]! > b.logits[o + bb]!) bb = l;
        }
        total++;
        if (ba === bb) agree++;
      }
    });
    const relErr = Math.sqrt(num / den);
    expect(relErr).toBeLessThan(0.05);
    expect(agree / total).toBeGreaterThan(0.97);
    // uint8 weights (zero point 128) are the same numbers, so the same logits
    const u = await run(quantizeModel(fp32, { weightType: 'uint8' }).bytes, ids);
    let du = 0;
    for (let i = 0; i < u.logits.length; i++) du = Math.max(du, Math.abs(u.logits[i]! - b.logits[i]!));
    expect(du).toBeLessThan(0.05 * Math.sqrt(den / (total * L)));
  }, 120_000);

  it("runs in transformers.js' pipeline as model_quantized.onnx with dtype q8", async () => {
    const { bytes } = quantizeModel(fp32);
    mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    // only the quantized file: the pipeline cannot silently fall back to fp32
    writeFileSync(path.join(dir, 'onnx', 'model_quantized.onnx'), bytes);
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(dir);
    const ner = await pipeline('token-classification', path.basename(dir), { dtype: 'q8' });
    try {
      for (const text of texts.slice(0, 5)) {
        const out = (await ner(text, { ignore_labels: [] })) as Array<{ entity: string; index: number }>;
        const ids = tokenizer.encode(text).ids;
        const { logits } = await run(bytes, [ids]);
        expect(out.length).toBe(ids.length - 2);
        for (const tok of out) {
          const row = Array.from(logits.subarray(tok.index * LABELS.length, (tok.index + 1) * LABELS.length));
          expect(tok.entity).toBe(LABELS[row.indexOf(Math.max(...row))]);
        }
      }
    } finally {
      await ner.dispose();
    }
  }, 120_000);
});
