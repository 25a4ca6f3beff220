import { describe, expect, it, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { InputError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { bertParamShapes, canonicalName } from '../../src/student/checkpoint-files.js';
import { saveCheckpoint } from '../../src/student/checkpoint-save.js';
import { paramSpecs } from '../../src/student/bert.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import type { BertConfig, ParamMap } from '../../src/student/types.js';
import { handBuilt } from './checkpoint-fixtures.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const root = mkdtempSync(path.join(tmpdir(), 'nerd-ck-'));
const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

function tinyConfig(vocab: number, labels: string[] = LABELS): BertConfig {
  return {
    vocab_size: vocab,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 32,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    hidden_act: 'gelu',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    pad_token_id: 0,
  };
}

/** deterministic, distinct values per tensor so any mix-up shows */
function fill(name: string, n: number): Float32Array {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Float32Array.from({ length: n }, (_, i) => ((h + i * 2654435761) % 1000) / 1000 - 0.5);
}

function tinyParams(config: BertConfig): ParamMap {
  const labels = Object.keys(config.id2label).length;
  return new Map(
    bertParamShapes(config, labels).map(([name, shape]) => [
      name,
      {
        shape,
        data: fill(
          name,
          shape.reduce((a, b) => a * b, 1),
        ),
      },
    ]),
  );
}

/** typed-array equality through bytes (vitest's deep equality is slow on large arrays) */
function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function f32(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

describe('checkpoint save/load', () => {
  let tk: Tokenizer;
  let config: BertConfig;
  let params: ParamMap;
  beforeAll(async () => {
    tk = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'));
    config = tinyConfig(tk.vocabSize);
    params = tinyParams(config);
  });

  it('writes the Hugging Face layout and reads it back exactly', async () => {
    const dir = path.join(root, 'ck1');
    const onnx = Uint8Array.from([8, 1, 2, 3]);
    await saveCheckpoint(dir, { config, params, tokenizer: tk, onnx, extra: { 'eval.json': { f1: 0.5 } } });
    expect(readdirSync(dir).sort()).toEqual([
      'config.json',
      'eval.json',
      'model.safetensors',
      'onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    expect([...readFileSync(path.join(dir, 'onnx/model.onnx'))]).toEqual([8, 1, 2, 3]);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['BertForTokenClassification']);
    expect(cfg.model_type).toBe('bert');
    expect(cfg.id2label).toEqual({ '0': 'O', '1': 'B-PER', '2': 'I-PER', '3': 'B-LOC', '4': 'I-LOC' });
    expect(cfg.label2id['I-LOC']).toBe(4);
    expect(readFileSync(path.join(dir, 'vocab.txt'), 'utf8')).toBe(
      readFileSync(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'), 'utf8'),
    );
    expect(JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).do_lower_case).toBe(false);

    const ck = await loadCheckpoint(dir);
    expect(ck.classifier).toBe('kept');
    expect(ck.notes).toEqual([]);
    expect([...ck.params.keys()]).toEqual([...params.keys()]);
    for (const [name, t] of params) {
      expect(ck.params.get(name)!.shape).toEqual(t.shape);
      expect(bytes(ck.params.get(name)!.data).equals(bytes(t.data)), name).toBe(true);
    }
    expect(ck.config.id2label).toEqual(config.id2label);
    expect(ck.config.hidden_size).toBe(8);
    expect(ck.tokenizer.encode('EU rejects German call').ids).toEqual(tk.encode('EU rejects German call').ids);
    expect(ck.tokenizer.settings.lowercase).toBe(false);
  });

  it('writes a tokenizer that transformers.js loads offline from the folder', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const hf = await AutoTokenizer.from_pretrained('ck1');
    const s = 'Ça va, Müller? EU rejects German call to boycott British lamb.';
    expect(hf.encode(s)).toEqual(tk.encode(s).ids);
  });

  it('adapts the classifier to a requested label set', async () => {
    const dir = path.join(root, 'ck1');
    const reordered = await loadCheckpoint(dir, { labels: ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER'] });
    expect(reordered.classifier).toBe('reordered');
    const W = params.get('classifier.weight')!.data;
    expect([...reordered.params.get('classifier.weight')!.data.subarray(8, 16)]).toEqual([...W.subarray(24, 32)]); // B-LOC was row 3
    expect(reordered.params.get('classifier.bias')!.data[3]).toBe(params.get('classifier.bias')!.data[1]);
    expect(reordered.config.label2id['B-PER']).toBe(3);

    const fresh = await loadCheckpoint(dir, { labels: ['O', 'B-ORG', 'I-ORG'] });
    expect(fresh.classifier).toBe('initialised');
    expect(fresh.notes.join(' ')).toMatch(/fresh classifier/);
    expect(fresh.params.get('classifier.weight')!.shape).toEqual([3, 8]);
    expect([...fresh.params.get('classifier.bias')!.data]).toEqual([0, 0, 0]);
    const w = fresh.params.get('classifier.weight')!.data;
    const std = Math.sqrt(w.reduce((a, b) => a + b * b, 0) / w.length);
    expect(std).toBeGreaterThan(0.005);
    expect(std).toBeLessThan(0.05);
    expect(fresh.config.id2label).toEqual({ '0': 'O', '1': 'B-ORG', '2': 'I-ORG' });
    const name = 'bert.encoder.layer.1.output.dense.weight';
    expect(bytes(fresh.params.get(name)!.data).equals(bytes(params.get(name)!.data))).toBe(true);
  });

  it('replaces an existing checkpoint as a whole and recovers from a crash between the renames', async () => {
    const dir = path.join(root, 'ck2');
    await saveCheckpoint(dir, { config, params, tokenizer: tk, onnx: Uint8Array.from([1]) });
    await saveCheckpoint(dir, { config, params, tokenizer: tk }); // no ONNX this time: the old one must go
    expect(existsSync(path.join(dir, 'onnx'))).toBe(false);
    expect(readdirSync(root).filter((f) => f.startsWith('ck2'))).toEqual(['ck2']);
    // simulate a crash after "dir → dir.replaced" and before "tmp → dir"
    renameSync(dir, `${dir}.replaced`);
    const ck = await loadCheckpoint(dir);
    expect(ck.classifier).toBe('kept');
    expect(existsSync(`${dir}.replaced`)).toBe(false);
  });

  it('refuses to replace a folder that is not a checkpoint', async () => {
    const dir = path.join(root, 'precious');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'thesis.tex'), 'years of work');
    await expect(saveCheckpoint(dir, { config, params, tokenizer: tk })).rejects.toThrow(/not a checkpoint/);
    expect(readFileSync(path.join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');
  });
});

describe('loading Hugging Face checkpoints', () => {
  let tk: Tokenizer;
  let config: BertConfig;
  let params: ParamMap;
  beforeAll(async () => {
    tk = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-uncased-vocab.txt'), { lowercase: true });
    config = tinyConfig(tk.vocabSize);
    params = tinyParams(config);
  });

  /** a folder like bert-base-uncased's: BertForMaskedLM/PreTraining names, vocab.txt, no tokenizer.json */
  function hfFolder(
    name: string,
    rename: (n: string) => string,
    opts: { dtype?: 'F32' | 'F16'; head?: boolean; configExtra?: object; legacy?: boolean } = {},
  ): string {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    const { id2label: _a, label2id: _b, ...base } = config;
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify(
        {
          architectures: ['BertForMaskedLM'],
          model_type: 'bert',
          transformers_version: '4.6.0.dev0',
          ...base,
          ...opts.configExtra,
        },
        null,
        2,
      ),
    );
    writeFileSync(path.join(dir, 'vocab.txt'), tk.vocabText());
    writeFileSync(
      path.join(dir, 'tokenizer_config.json'),
      JSON.stringify({ do_lower_case: true, model_max_length: 512 }),
    );
    const tensors: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }> = [];
    for (const [n, t] of params) {
      if (n.startsWith('classifier.') && !opts.head) continue;
      let hfName = rename(n);
      if (opts.legacy && n.includes('LayerNorm'))
        hfName = hfName.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta');
      const bytes = opts.dtype === 'F16' ? halfBytes(t.data) : f32(t.data);
      tensors.push({ name: hfName, dtype: opts.dtype ?? 'F32', shape: t.shape, bytes });
    }
    const H = config.hidden_size;
    // heads and buffers a real checkpoint carries
    tensors.push({
      name: rename('bert.pooler.dense.weight'),
      dtype: 'F32',
      shape: [H, H],
      bytes: f32(new Float32Array(H * H)),
    });
    tensors.push({ name: rename('bert.pooler.dense.bias'), dtype: 'F32', shape: [H], bytes: f32(new Float32Array(H)) });
    tensors.push({
      name: 'cls.predictions.bias',
      dtype: 'F32',
      shape: [config.vocab_size],
      bytes: f32(new Float32Array(config.vocab_size)),
    });
    tensors.push({
      name: 'cls.predictions.transform.dense.weight',
      dtype: 'F32',
      shape: [H, H],
      bytes: f32(new Float32Array(H * H)),
    });
    tensors.push({
      name: 'cls.seq_relationship.weight',
      dtype: 'F32',
      shape: [2, H],
      bytes: f32(new Float32Array(2 * H)),
    });
    const ids = Buffer.alloc(8 * 32);
    for (let i = 0; i < 32; i++) ids.writeBigInt64LE(BigInt(i), i * 8);
    tensors.push({ name: rename('bert.embeddings.position_ids'), dtype: 'I64', shape: [1, 32], bytes: ids });
    tensors.reverse(); // file order need not be HF order
    writeFileSync(path.join(dir, 'model.safetensors'), handBuilt(tensors, { format: 'pt' }));
    return dir;
  }

  function halfBytes(data: Float32Array): Uint8Array {
    // exact halves: our fill() values are k/1000 - 0.5; compare after the same rounding below
    const b = Buffer.alloc(data.length * 2);
    data.forEach((v, i) => b.writeUInt16LE(toHalfRef(v), i * 2));
    return b;
  }
  /** reference float→half (round to nearest even via Math.fround-free arithmetic on normal range) */
  function toHalfRef(v: number): number {
    if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
    const sign = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    let e = Math.floor(Math.log2(a));
    if (e < -14) return sign | Math.round(a / 2 ** -24);
    let m = Math.round((a / 2 ** e - 1) * 1024);
    if (m === 1024) {
      m = 0;
      e++;
    }
    return sign | ((e + 15) << 10) | m;
  }
  function fromHalfRef(h: number): number {
    const e = (h >> 10) & 31;
    const m = h & 1023;
    const s = h & 0x8000 ? -1 : 1;
    return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
  }

  function expectEncoder(got: ParamMap, map: (x: number) => number = (x) => x): void {
    for (const [name, t] of params) {
      if (name.startsWith('classifier.')) continue;
      expect(got.get(name)!.shape, name).toEqual(t.shape);
      expect([...got.get(name)!.data.subarray(0, 50)], name).toEqual(
        [...t.data.subarray(0, 50)].map((x) => Math.fround(map(x))),
      );
    }
  }

  it('loads a BertForMaskedLM checkpoint (bert.* names, cls.* head, pooler, position_ids) without a classifier', async () => {
    const dir = hfFolder('mlm', (n) => n);
    const ck = await loadCheckpoint(dir);
    expect(ck.classifier).toBe('absent');
    expect(ck.params.has('classifier.weight')).toBe(false);
    expect([...ck.params.keys()]).toEqual([...params.keys()].filter((n) => !n.startsWith('classifier.')));
    expectEncoder(ck.params);
    expect(ck.ignored.sort()).toEqual([
      'bert.embeddings.position_ids',
      'bert.pooler.dense.bias',
      'bert.pooler.dense.weight',
      'cls.predictions.bias',
      'cls.predictions.transform.dense.weight',
      'cls.seq_relationship.weight',
    ]);
    expect(ck.notes.join(' ')).toMatch(/no classifier head/);
    expect(ck.tokenizer.settings.lowercase).toBe(true);
    expect(ck.tokenizer.encode('Héllo WORLD').tokens).toEqual(['[CLS]', 'hello', 'world', '[SEP]']);

    const withLabels = await loadCheckpoint(dir, { labels: LABELS, seed: 3 });
    expect(withLabels.classifier).toBe('initialised');
    expect(withLabels.params.get('classifier.weight')!.shape).toEqual([5, 8]);
    expect([...withLabels.params.keys()]).toEqual([...params.keys()]);
    expect(withLabels.config.architectures).toEqual(['BertForTokenClassification']);
    expect((await loadCheckpoint(dir, { numLabels: 3 })).config.id2label).toEqual({
      '0': 'LABEL_0',
      '1': 'LABEL_1',
      '2': 'LABEL_2',
    });
  });

  it('loads a BertModel checkpoint (names without bert., legacy gamma/beta) stored in float16', async () => {
    const dir = hfFolder('bertmodel-f16', (n) => n.replace(/^bert\./, ''), { dtype: 'F16', legacy: true });
    const ck = await loadCheckpoint(dir, { labels: LABELS });
    expectEncoder(ck.params, (x) => fromHalfRef(toHalfRef(x)));
    expect(ck.notes.join(' ')).toMatch(/F16/);
    expect(ck.classifier).toBe('initialised');
  });

  it('keeps the classifier of a token-classification checkpoint', async () => {
    const dir = hfFolder('tokcls', (n) => n, {
      head: true,
      configExtra: {
        architectures: ['BertForTokenClassification'],
        id2label: config.id2label,
        label2id: config.label2id,
      },
    });
    const ck = await loadCheckpoint(dir, { labels: LABELS });
    expect(ck.classifier).toBe('kept');
    expect(bytes(ck.params.get('classifier.weight')!.data).equals(bytes(params.get('classifier.weight')!.data))).toBe(
      true,
    );
  });

  it('loads sharded weights (model.safetensors.index.json)', async () => {
    const dir = hfFolder('sharded', (n) => n);
    const { readSafetensors } = await import('../../src/student/safetensors.js');
    const all = (await readSafetensors(path.join(dir, 'model.safetensors'))).tensors;
    const names = [...all.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(
        path.join(dir, file),
        handBuilt(part.map((n) => ({ name: n, dtype: 'F32', shape: all.get(n)!.shape, bytes: f32(all.get(n)!.data) }))),
      );
      for (const n of part) weightMap[n] = file;
    });
    renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'unused.bak'));
    writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const ck = await loadCheckpoint(dir, { labels: LABELS });
    expectEncoder(ck.params);
  });

  it('takes tokenizer.json over vocab.txt, with tokenizer_config.json overriding lower-casing', async () => {
    const dir = path.join(root, 'tok-dir');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tk.toTokenizerJson())); // uncased
    writeFileSync(path.join(dir, 'vocab.txt'), 'garbage\n');
    expect((await Tokenizer.fromDirectory(dir)).encode('Héllo').tokens).toEqual(['[CLS]', 'hello', '[SEP]']);
    writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
    const cased = await Tokenizer.fromDirectory(dir);
    expect(cased.settings.lowercase).toBe(false);
    expect(cased.settings.stripAccents).toBe(null);
  });

  it('names the file and the problem for broken folders', async () => {
    const expectInputError = async (p: Promise<unknown>, file: string, msg: RegExp) => {
      const err = await p.catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).file).toBe(file);
      expect((err as InputError).message).toMatch(msg);
      return err as InputError;
    };
    // broken JSON: file, line and column
    const broken = hfFolder('broken-json', (n) => n);
    writeFileSync(path.join(broken, 'config.json'), '{\n  "hidden_size": 8,\n  "vocab_size": 30522\n  "x": 1\n}\n');
    const e = await expectInputError(loadCheckpoint(broken), path.join(broken, 'config.json'), /invalid JSON/);
    expect(e.line).toBe(4);
    // a missing field
    const nofield = hfFolder('no-field', (n) => n, { configExtra: { num_attention_heads: undefined } });
    await expectInputError(loadCheckpoint(nofield), path.join(nofield, 'config.json'), /num_attention_heads/);
    // another architecture
    const gpt2 = hfFolder('gpt2', (n) => n, { configExtra: { model_type: 'gpt2' } });
    await expectInputError(loadCheckpoint(gpt2), path.join(gpt2, 'config.json'), /model_type "gpt2" is not supported/);
    // config and weights disagree
    const wrongShape = hfFolder('wrong-shape', (n) => n, { configExtra: { intermediate_size: 32 } });
    await expectInputError(
      loadCheckpoint(wrongShape),
      path.join(wrongShape, 'model.safetensors'),
      /intermediate\.dense\.weight.*\[16,8\].*\[32,8\]/,
    );
    const fewerLayers = hfFolder('fewer-layers', (n) => n, { configExtra: { num_hidden_layers: 1 } });
    await expectInputError(
      loadCheckpoint(fewerLayers),
      path.join(fewerLayers, 'model.safetensors'),
      /num_hidden_layers/,
    );
    // truncated weights
    const trunc = hfFolder('trunc', (n) => n);
    const st = path.join(trunc, 'model.safetensors');
    writeFileSync(st, readFileSync(st).subarray(0, 5000));
    await expectInputError(loadCheckpoint(trunc), st, /truncated/);
    // pytorch_model.bin that is not one (real ones: torch-weights.test.ts)
    const pt = path.join(root, 'pt-only');
    mkdirSync(pt);
    writeFileSync(path.join(pt, 'config.json'), readFileSync(path.join(trunc, 'config.json')));
    writeFileSync(path.join(pt, 'vocab.txt'), readFileSync(path.join(trunc, 'vocab.txt')));
    writeFileSync(path.join(pt, 'pytorch_model.bin'), 'PK');
    await expectInputError(loadCheckpoint(pt), path.join(pt, 'pytorch_model.bin'), /not a PyTorch weights file/);
    await expectInputError(loadCheckpoint(path.join(root, 'nowhere')), path.join(root, 'nowhere'), /not found/);
  });

  it('expects exactly the parameters the engine model defines', () => {
    expect(paramSpecs(config).map((sp) => [sp.name, sp.shape])).toEqual(bertParamShapes(config, LABELS.length));
  });

  it('maps checkpoint names to Hugging Face token-classification names', () => {
    expect(canonicalName('embeddings.LayerNorm.gamma')).toBe('bert.embeddings.LayerNorm.weight');
    expect(canonicalName('bert.encoder.layer.3.output.LayerNorm.beta')).toBe(
      'bert.encoder.layer.3.output.LayerNorm.bias',
    );
    expect(canonicalName('encoder.layer.0.attention.self.query.weight')).toBe(
      'bert.encoder.layer.0.attention.self.query.weight',
    );
    expect(canonicalName('classifier.weight')).toBe('classifier.weight');
    for (const n of [
      'cls.predictions.decoder.weight',
      'bert.pooler.dense.weight',
      'pooler.dense.bias',
      'bert.embeddings.position_ids',
      'qa_outputs.weight',
    ]) {
      expect(canonicalName(n)).toBeNull();
    }
  });
});
