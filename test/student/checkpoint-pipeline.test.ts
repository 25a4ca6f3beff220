/**
 * The product path end to end: a checkpoint written by saveCheckpoint (with the engine's inference ONNX)
 * loads, untouched, in transformers.js' token-classification pipeline, and back through loadCheckpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { saveCheckpoint } from '../../src/student/checkpoint-save.js';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { presetConfig } from '../../src/student/presets.js';
import { Tokenizer } from '../../src/student/tokenizer.js';

/** typed-array equality through bytes (vitest's deep equality is slow on millions of elements) */
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const vocabFile = path.resolve(process.cwd(), '../shared/data/vocab/bert-base-uncased-vocab.txt');

describe('checkpoint folder in transformers.js', () => {
  it('runs in the token-classification pipeline as saved, with the tokenizer settings it was saved with', async () => {
    const tokenizer = await Tokenizer.fromVocabFile(vocabFile, { lowercase: true });
    const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
    const config = presetConfig('tiny', {
      vocabSize: tokenizer.vocabSize,
      labels,
      overrides: { max_position_embeddings: 64 },
    });
    const params = initParams(config, 7);
    const engine = await BertEngine.create(config, params);
    const root = mkdtempSync(path.join(tmpdir(), 'nerd-ckpipe-'));
    const dir = path.join(root, 'model');
    try {
      await saveCheckpoint(dir, { config, params, tokenizer, onnx: engine.inferenceModel() });
      env.allowRemoteModels = false;
      env.localModelPath = root;
      const ner = await pipeline('token-classification', 'model', { dtype: 'fp32' });
      const text = 'Ångström visited MÜNCHEN and 東京';
      const out = (await ner(text, { ignore_labels: [] })) as {
        entity: string;
        word: string;
        score: number;
        index: number;
      }[];
      const enc = tokenizer.encode(text);
      expect(out.map((t) => t.word)).toEqual(enc.tokens.slice(1, -1));
      const ids = Int32Array.from(enc.ids);
      const logits = await engine.logits({
        batchSize: 1,
        seqLen: ids.length,
        inputIds: ids,
        attentionMask: new Int32Array(ids.length).fill(1),
      });
      for (const tok of out) {
        const row = logits.subarray(tok.index * labels.length, (tok.index + 1) * labels.length);
        expect(tok.entity).toBe(labels[row.indexOf(Math.max(...row))]);
      }
      await ner.dispose();

      const back = await loadCheckpoint(dir);
      expect(back.classifier).toBe('kept');
      for (const [name, t] of params) expect(bytes(back.params.get(name)!.data).equals(bytes(t.data)), name).toBe(true);
      expect(back.tokenizer.encode(text).ids).toEqual(enc.ids);
    } finally {
      await engine.release();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
