/** The exported inference model runs in @huggingface/transformers' token-classification pipeline
 * (the browser/Node runtime users will serve with) and gives the engine's own predictions. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { BertEngine, initParams } from '../../src/student/engine.js';
import { presetConfig } from '../../src/student/presets.js';
import { Tokenizer } from '../../src/student/tokenizer.js';

const vocabFile = path.resolve(process.cwd(), '../shared/data/vocab/bert-base-cased-vocab.txt');

describe('exported ONNX model in transformers.js', () => {
  it('loads in the token-classification pipeline and agrees with BertEngine.logits', async () => {
    const tokenizer = await Tokenizer.fromVocabFile(vocabFile);
    const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
    const config = presetConfig('tiny', { vocabSize: 28996, labels, overrides: { max_position_embeddings: 64 } });
    const engine = await BertEngine.create(config, initParams(config, 123));
    const dir = mkdtempSync(path.join(tmpdir(), 'nerd-tjs-'));
    try {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
      writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toTokenizerJson()));
      writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizer.tokenizerConfig()));
      mkdirSync(path.join(dir, 'onnx'));
      writeFileSync(path.join(dir, 'onnx', 'model.onnx'), engine.inferenceModel());
      env.allowRemoteModels = false;
      env.localModelPath = path.dirname(dir);
      const ner = await pipeline('token-classification', path.basename(dir), { dtype: 'fp32' });
      const text = 'George Washington went to Washington';
      const out = (await ner(text, { ignore_labels: [] })) as {
        entity: string;
        word: string;
        score: number;
        index: number;
      }[];
      const enc = tokenizer.encode(text);
      const ids = Int32Array.from(enc.ids);
      const logits = await engine.logits({
        batchSize: 1,
        seqLen: ids.length,
        inputIds: ids,
        attentionMask: new Int32Array(ids.length).fill(1),
      });
      expect(out.length).toBe(ids.length - 2);
      for (const tok of out) {
        const row = logits.subarray(tok.index * labels.length, (tok.index + 1) * labels.length);
        const best = row.indexOf(Math.max(...row));
        expect(tok.entity).toBe(labels[best]);
        const p = Math.exp(row[best]!) / row.reduce((s, x) => s + Math.exp(x), 0);
        expect(tok.score).toBeCloseTo(p, 5);
      }
      await ner.dispose();
    } finally {
      await engine.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
