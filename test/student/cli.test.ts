/**
 * `nerd train`, `nerd predict`, `nerd forward` through the real command line (spawned processes).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { loadCheckpoint } from '../../src/student/checkpoint.js';
import { BertEngine } from '../../src/student/engine.js';
import { runCli } from '../helpers/cli.js';
import { DATA } from '../helpers/data.js';

// each test spawns the CLI (a few seconds of start-up each); generous limits for a loaded machine
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const nerd = (...args: string[]) => runCli(args);

/** the first `n` sentences of a CoNLL file (blank-line separated), keeping -DOCSTART- lines */
function headSentences(file: string, n: number): string {
  const blocks = readFileSync(file, 'utf8').split(/\n\s*\n/);
  return blocks.slice(0, n).join('\n\n') + '\n\n';
}

const model = path.join(tmp, 'run', 'best');

beforeAll(async () => {
  writeFileSync(path.join(tmp, 'train.txt'), headSentences(path.join(DATA, 'conll2003/train.txt'), 48));
  writeFileSync(path.join(tmp, 'dev.txt'), headSentences(path.join(DATA, 'conll2003/dev.txt'), 16));
  const r = await nerd(
    'train',
    '--train',
    path.join(tmp, 'train.txt'),
    '--dev',
    path.join(tmp, 'dev.txt'),
    '--out',
    path.join(tmp, 'run'),
    '--model',
    'tiny',
    '--epochs',
    '1',
    '--batch',
    '16',
    '--lr',
    '1e-3',
    '--max-seq',
    '64',
    '--json',
  );
  if (r.code !== 0) throw new Error(`nerd train failed (${r.code}): ${r.stderr}`);
  const result = JSON.parse(r.stdout);
  expect(result.steps).toBe(3);
  expect(r.stderr).toContain('best dev F1');
}, 300_000);

describe('nerd train', () => {
  it('writes a Hugging Face checkpoint with an ONNX model', async () => {
    for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'onnx/model.onnx']) {
      expect(existsSync(path.join(model, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8'));
    expect(config.hidden_size).toBe(128);
    expect(Object.values(config.id2label)).toContain('B-PER');
  });

  it('names the file of bad input and exits 2', async () => {
    const r = await nerd('train', '--train', path.join(tmp, 'missing.txt'), '--out', path.join(tmp, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.txt');
    const bad = path.join(tmp, 'bad.txt');
    writeFileSync(bad, 'EU B-ORG\nrejects X-BAD\n');
    const r2 = await nerd('train', '--train', bad, '--out', path.join(tmp, 'y'), '--model', 'tiny');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad\.txt:2/);
    expect((await nerd('train', '--train', bad, '--out', path.join(tmp, 'y'), '--epochs', 'two')).code).toBe(2);
  });
});

describe('nerd predict', () => {
  it('writes CoNLL IOB1 (with -DOCSTART- lines) as it read it: same lines, tokens and columns', async () => {
    const input = path.join(tmp, 'iob1.txt');
    // a few sentences around the first document boundary
    const blocks = readFileSync(path.join(DATA, 'conll2003-iob1/eng.testb'), 'utf8').split(/\n\s*\n/);
    const doc = blocks.findIndex((b) => b.startsWith('-DOCSTART-'));
    writeFileSync(input, blocks.slice(doc - 4, doc + 8).join('\n\n') + '\n\n');
    expect(readFileSync(input, 'utf8')).toContain('-DOCSTART-');
    const out = path.join(tmp, 'iob1.pred.txt');
    const r = await nerd('predict', '--model', model, '--input', input, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const inLines = readFileSync(input, 'utf8').split('\n');
    const outLines = readFileSync(out, 'utf8').split('\n');
    expect(outLines).toHaveLength(inLines.length);
    inLines.forEach((line, i) => {
      const a = line.split(' ');
      const b = outLines[i]!.split(' ');
      expect(b.slice(0, -1)).toEqual(a.slice(0, -1));
      if (a.length > 1 && a[0] !== '-DOCSTART-') expect(b[b.length - 1]).toMatch(/^(O|[BI]-(PER|ORG|LOC|MISC))$/);
    });
    const back = readCorpus(out, { scheme: 'iob1', strict: true });
    expect(back.corpus.sentences).toHaveLength(readCorpus(input).corpus.sentences.length);
  });

  it('writes JSONL with character offsets for JSONL input', async () => {
    const input = path.join(tmp, 'texts.jsonl');
    const texts = ['Angela Merkel visited Paris on Monday.', 'Shares of Apple Inc. rose 3% in New York.'];
    writeFileSync(input, texts.map((text, i) => JSON.stringify({ id: `t${i}`, text, entities: [] })).join('\n') + '\n');
    const out = path.join(tmp, 'texts.pred.jsonl');
    const r = await nerd('predict', '--model', model, '--input', input, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.text)).toEqual(texts);
    expect(rows.map((x) => x.id)).toEqual(['t0', 't1']);
    for (const row of rows) {
      for (const e of row.entities) {
        expect(e.end).toBeGreaterThan(e.start);
        expect(e.confidence).toBeGreaterThan(0);
        expect(e.confidence).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('nerd forward', () => {
  it('prints the ONNX model logits, equal to the training engine forward pass', async () => {
    const r = await nerd('forward', '--model', model, '--ids', '[[101, 1109, 1419, 102], [101, 102]]');
    expect(r.code, r.stderr).toBe(0);
    const logits = JSON.parse(r.stdout) as number[][][];
    expect(logits).toHaveLength(2);
    expect(logits[0]).toHaveLength(4);
    expect(logits[1]).toHaveLength(2);
    const ck = await loadCheckpoint(model);
    const L = Object.keys(ck.config.id2label).length;
    expect(logits[0]![0]).toHaveLength(L);
    const engine = await BertEngine.create(ck.config, ck.params, { threads: 1 });
    const ids = new Int32Array([101, 1109, 1419, 102]);
    const ref = await engine.logits({
      batchSize: 1,
      seqLen: 4,
      inputIds: ids,
      attentionMask: new Int32Array(4).fill(1),
    });
    await engine.release();
    logits[0]!.flat().forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 4));
  });

  it('refuses ids that are not a JSON array of id rows', async () => {
    const r = await nerd('forward', '--model', model, '--ids', '[101, 102]');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ids');
    expect((await nerd('forward', '--model', model, '--ids', '[[1, 99999999]]')).code).toBe(2);
  });
});
