/**
 * DistilBERT, ELECTRA (embedding_size = hidden_size) and RoBERTa on BERT's graph: random-weight parity with plain
 * PyTorch references (scripts/arch_fixture.py: logits, loss and every gradient, under the architectures'
 * own parameter names), checkpoints saved under those names and config fields, and the exported ONNX in
 * transformers.js' token-classification pipeline.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { toBertName } from '../../src/student/arch.js';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { saveCheckpoint } from '../../src/student/checkpoint-save.js';
import { BertEngine } from '../../src/student/engine.js';
import { Predictor } from '../../src/student/predict.js';
import { readSafetensors } from '../../src/student/safetensors.js';
import { HfTokenizer } from '../../src/student/tokenizer-hf.js';
import { train } from '../../src/student/train.js';
import type { Sentence } from '../../src/corpus/types.js';
import type { Batch } from '../../src/student/types.js';

const FIX = path.join(process.cwd(), 'test/student/fixtures/arch');
const root = mkdtempSync(path.join(tmpdir(), 'nerd-arch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

for (const fixture of ['distilbert', 'electra', 'electra-small', 'roberta'] as const) {
  const arch = fixture === 'electra-small' ? 'electra' : fixture;
  describe(`${fixture}: parity with the plain PyTorch reference`, () => {
    const expected = JSON.parse(readFileSync(path.join(FIX, `${fixture}-expected.json`), 'utf8')) as {
      ids: number[][];
      mask: number[][];
      labels: number[][];
      loss: number;
      logits: number[][][];
    };
    const B = expected.ids.length;
    const T = expected.ids[0]!.length;
    const batch: Batch = {
      batchSize: B,
      seqLen: T,
      inputIds: Int32Array.from(expected.ids.flat()),
      attentionMask: Int32Array.from(expected.mask.flat()),
      labels: Int32Array.from(expected.labels.flat()),
    };
    // logits of real tokens (RoBERTa numbers padded positions differently; they are masked and unlabelled)
    const L = 5;
    const real = (logits: ArrayLike<number>) =>
      Array.from(logits).filter((_, i) => batch.attentionMask[Math.floor(i / L)] === 1);

    it('loads by its own names, and matches logits, loss and every gradient', async () => {
      const ck = await loadCheckpoint(path.join(FIX, fixture));
      expect(ck.classifier).toBe('kept');
      expect(ck.config.model_type).toBe(arch);
      expect(ck.ignored).toEqual([]);
      const engine = await BertEngine.create(ck.config, ck.params, { threads: 1 });
      try {
        expect(relErr(real(await engine.logits(batch)), real(expected.logits.flat(2)))).toBeLessThan(1e-5);
        const { loss, grads } = await engine.lossAndGradients(batch);
        expect(Math.abs(loss - expected.loss) / expected.loss).toBeLessThan(1e-5);
        const torch = (await readSafetensors(path.join(FIX, `${fixture}-grads.safetensors`))).tensors;
        let scale = 0;
        for (const g of torch.values()) for (const x of g.data) scale = Math.max(scale, Math.abs(x));
        for (const [name, g] of torch) {
          const ours = grads.get(toBertName(arch, name)!);
          expect(ours, name).toBeDefined();
          // RoBERTa's first two position rows (before padding_idx + 1) are not in BERT's table; no real token reads them
          const skip = name === 'roberta.embeddings.position_embeddings.weight' ? 2 * g.shape[1]! : 0;
          for (let i = 0; i < skip; i++) expect(g.data[i]).toBe(0);
          let diff = 0;
          for (let i = skip; i < g.data.length; i++) diff = Math.max(diff, Math.abs(ours![i - skip]! - g.data[i]!));
          expect(diff / scale, name).toBeLessThan(1e-4);
        }
      } finally {
        await engine.release();
      }
    });

    it('saves a checkpoint under its own names and config fields, which loads back to the same logits', async () => {
      const ck = await loadCheckpoint(path.join(FIX, fixture));
      if (arch === 'distilbert') {
        // training moves the token-type row BERT's graph adds; saving folds it into the positions
        const row = ck.params.get('bert.embeddings.token_type_embeddings.weight')!.data;
        for (let i = 0; i < row.length; i++) row[i] = 0.01 * (i + 1);
      }
      const engine = await BertEngine.create(ck.config, ck.params, { threads: 1 });
      const dir = path.join(root, fixture);
      try {
        const before = await engine.logits(batch);
        await saveCheckpoint(dir, {
          config: ck.config,
          params: ck.params,
          tokenizer: ck.tokenizer,
          onnx: engine.inferenceModel(),
        });
        const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
        const original = (await readSafetensors(path.join(FIX, fixture, 'model.safetensors'))).tensors;
        const saved = (await readSafetensors(path.join(dir, 'model.safetensors'))).tensors;
        expect([...saved.keys()].sort()).toEqual([...original.keys()].sort());
        if (arch === 'distilbert') {
          expect(config).toMatchObject({
            model_type: 'distilbert',
            architectures: ['DistilBertForTokenClassification'],
            dim: 16,
            n_layers: 2,
            n_heads: 2,
            hidden_dim: 32,
          });
          expect(config.hidden_size).toBeUndefined();
        } else if (arch === 'electra') {
          expect(config).toMatchObject({
            model_type: 'electra',
            architectures: ['ElectraForTokenClassification'],
            embedding_size: fixture === 'electra' ? 16 : 8,
            hidden_size: 16,
          });
        } else {
          expect(config).toMatchObject({
            model_type: 'roberta',
            architectures: ['RobertaForTokenClassification'],
            max_position_embeddings: 18,
            pad_token_id: 1,
          });
          // the position table keeps RoBERTa's numbering: the same rows where the original has them
          const a = saved.get('roberta.embeddings.position_embeddings.weight')!;
          const b = original.get('roberta.embeddings.position_embeddings.weight')!;
          expect(a.shape).toEqual(b.shape);
          expect(Array.from(a.data.slice(2 * 16))).toEqual(Array.from(b.data.slice(2 * 16)));
        }
        const back = await loadCheckpoint(dir);
        const again = await BertEngine.create(back.config, back.params, { threads: 1 });
        try {
          expect(relErr(await again.logits(batch), before)).toBeLessThan(1e-6);
        } finally {
          await again.release();
        }
      } finally {
        await engine.release();
      }
    });

    it('trains from the checkpoint, saves OUT/best in its own format, and predicts from it', async () => {
      const sents: Sentence[] = Array.from({ length: 16 }, (_, k) => ({
        tokens: ['w1', `w${(k % 9) + 2}`, 'w3', 'w20'],
        spans: [{ start: 0, end: 2, label: 'PER' }, ...(k % 2 ? [{ start: 3, end: 4, label: 'LOC' }] : [])],
      }));
      const out = path.join(root, `train-${fixture}`);
      const r = await train({
        out,
        train: sents,
        dev: sents.slice(0, 4),
        model: path.join(FIX, fixture),
        epochs: 1,
        batchSize: 8,
        lr: 1e-3,
        progress: false,
        log: () => {},
      });
      expect(r.steps).toBe(2);
      const config = JSON.parse(readFileSync(path.join(r.bestDir, 'config.json'), 'utf8'));
      expect(config.model_type).toBe(arch);
      const names = [...(await readSafetensors(path.join(r.bestDir, 'model.safetensors'))).tensors.keys()];
      expect(names.every((n) => n.startsWith(`${arch}.`) || n.startsWith('classifier.'))).toBe(true);
      const p = await Predictor.load(r.bestDir, { threads: 1 });
      try {
        const [pred] = await p.predictSentences([['w1', 'w2', 'w3']]);
        expect(pred!.tokens).toEqual(['w1', 'w2', 'w3']);
      } finally {
        await p.close();
      }
    });

    it("runs in transformers.js' token-classification pipeline as saved", async () => {
      const dir = path.join(root, fixture);
      env.allowRemoteModels = false;
      env.localModelPath = root;
      const ner = await pipeline('token-classification', fixture, { dtype: 'fp32' });
      try {
        const text = 'w1 w2 w3';
        const out = (await ner(text, { ignore_labels: [] })) as { entity: string; word: string; index: number }[];
        const ck = await loadCheckpoint(dir);
        let ids: Int32Array;
        if (arch === 'roberta') {
          expect(ck.tokenizer).toBeInstanceOf(HfTokenizer);
          const enc = await (ck.tokenizer as HfTokenizer).encodeAsync(text);
          expect(enc.tokens).toEqual(['<s>', 'w', '1', 'Ġw', '2', 'Ġw', '3', '</s>']);
          expect(out.map((t) => t.word)).toEqual(['w', '1', ' w', '2', ' w', '3']);
          ids = Int32Array.from(enc.ids);
        } else {
          expect(out.map((t) => t.word)).toEqual(['w1', 'w2', 'w3']);
          ids = Int32Array.from([2, 6, 7, 8, 3]);
        }
        const engine = await BertEngine.create(ck.config, ck.params, { threads: 1 });
        const logits = await engine.logits({
          batchSize: 1,
          seqLen: ids.length,
          inputIds: ids,
          attentionMask: new Int32Array(ids.length).fill(1),
        });
        await engine.release();
        const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
        for (const tok of out) {
          const row = Array.from(logits.subarray(tok.index * 5, (tok.index + 1) * 5));
          expect(tok.entity).toBe(labels[row.indexOf(Math.max(...row))]);
        }
      } finally {
        await ner.dispose();
      }
    });
  });
}
