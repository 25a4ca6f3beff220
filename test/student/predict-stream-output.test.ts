/**
 * Streaming prediction (predict-stream.ts) writes exactly what reading the whole corpus, predicting it and
 * writing it gives, in every format, and names the file's own lines in errors — with chunks and read
 * blocks small enough that every file is cut many times (and characters are split across reads).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCorpus, readCorpus, type CorpusFormat } from '../../src/corpus/index.js';
import type { InputError } from '../../src/errors.js';
import { Predictor } from '../../src/student/predict.js';
import { predictFile, readCorpusChunks } from '../../src/student/predict-stream.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import type { Batch } from '../../src/student/types.js';

const DATA = path.resolve(process.cwd(), '../shared/data');
const LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** a fake model: each position's label is a function of its sub-word id only, so batching cannot matter */
async function fakeLogits(batch: Batch): Promise<Float32Array> {
  const L = LABELS.length;
  const out = new Float32Array(batch.batchSize * batch.seqLen * L);
  for (let i = 0; i < batch.batchSize * batch.seqLen; i++) {
    const id = batch.inputIds[i]!;
    out[i * L + (id % 5 === 0 ? (id * 7) % L : 0)] = 3;
    const j = i * L + ((id * 3) % L);
    out[j] = out[j]! + 1;
  }
  return out;
}

let predictor: Predictor;
const files: Record<string, string> = {};

/** the first n sentence blocks of a CoNLL file, -DOCSTART- lines included */
function headBlocks(file: string, n: number): string {
  return (
    readFileSync(file, 'utf8')
      .split(/\n\s*\n/)
      .slice(0, n)
      .join('\n\n') + '\n\n'
  );
}

beforeAll(async () => {
  const tok = await Tokenizer.fromVocabFile(path.join(DATA, 'vocab/bert-base-cased-vocab.txt'));
  predictor = new Predictor(tok, LABELS, fakeLogits, { maxSeq: 32, batchSize: 16 });
  files['conll'] = path.join(tmp, 'dev.conll');
  writeFileSync(files['conll'], headBlocks(path.join(DATA, 'conll2003/dev.txt'), 400));
  files['iob1'] = path.join(tmp, 'dev-iob1.conll');
  writeFileSync(files['iob1'], headBlocks(path.join(DATA, 'conll2003-iob1/eng.testa'), 300));
  const read = readCorpus(files['conll']);
  files['jsonl'] = path.join(tmp, 'dev.jsonl');
  writeFileSync(files['jsonl'], formatCorpus(read.corpus, { format: 'jsonl' }));
  files['tokens-jsonl'] = path.join(tmp, 'dev.tokens.jsonl');
  writeFileSync(files['tokens-jsonl'], formatCorpus(read.corpus, { format: 'tokens-jsonl', scheme: 'iob2' }));
}, 60_000);

/** the whole-corpus way, as `nerd predict` did before streaming */
async function reference(file: string, opts: { entities?: boolean } = {}): Promise<string> {
  const read = readCorpus(file);
  const preds = await predictor.predictSentences(read.corpus.sentences.map((s) => s.tokens));
  read.corpus.sentences.forEach((s, k) => {
    const off = s.tokenOffsets;
    s.spans = preds[k]!.spans.map((sp) =>
      off && off.length === s.tokens.length
        ? { ...sp, charStart: off[sp.start]![0], charEnd: off[sp.end - 1]![1] }
        : { ...sp },
    );
  });
  return formatCorpus(read.corpus, {
    format: read.format,
    scheme: read.scheme,
    ...(opts.entities ? { entities: true } : {}),
  });
}

describe('streaming prediction', () => {
  for (const kind of ['conll', 'iob1', 'jsonl', 'tokens-jsonl']) {
    it(`writes the same ${kind} as a whole-corpus prediction`, async () => {
      const file = files[kind]!;
      const want = await reference(file);
      expect(want.length).toBeGreaterThan(10_000);
      for (const chunkSentences of [1, 37, 5000]) {
        const out = path.join(tmp, `out-${kind}-${chunkSentences}`);
        const r = await predictFile(predictor, file, out, { chunkSentences, blockBytes: 997 });
        expect(readFileSync(out, 'utf8')).toBe(want);
        expect(r.sentences).toBe(readCorpus(file).corpus.sentences.length);
      }
    }, 60_000);
  }

  it('writes token JSONL entities the same way', async () => {
    const out = path.join(tmp, 'out-entities');
    await predictFile(predictor, files['tokens-jsonl']!, out, { chunkSentences: 13, entities: true });
    expect(readFileSync(out, 'utf8')).toBe(await reference(files['tokens-jsonl']!, { entities: true }));
  });

  it('cuts chunks at sentences, keeps -DOCSTART- with its sentence and the file’s lines and ids', () => {
    const file = files['conll']!;
    const whole = readCorpus(file).corpus.sentences;
    const chunks = [...readCorpusChunks(file, { format: 'conll' as CorpusFormat, sentences: 10, blockBytes: 777 })];
    expect(chunks.length).toBeGreaterThan(30);
    expect(chunks.filter((c) => c.last)).toHaveLength(1);
    const streamed = chunks.flatMap((c) => c.result.corpus.sentences);
    expect(streamed.map((s) => [s.id, s.line, s.docStart ?? false, s.tokens.join(' ')])).toEqual(
      whole.map((s) => [s.id, s.line, s.docStart ?? false, s.tokens.join(' ')]),
    );
  });

  it('reports a bad line and bad bytes at the file’s line number', async () => {
    const lines = readFileSync(files['conll']!, 'utf8').split('\n');
    const at = lines.length - 40;
    lines.splice(at, 0, ' stray O');
    const bad = path.join(tmp, 'bad.conll');
    writeFileSync(bad, lines.join('\n'));
    const whole = (() => {
      try {
        readCorpus(bad);
      } catch (err) {
        return err as InputError;
      }
    })()!;
    expect(whole.line).toBe(at + 1);
    await expect(predictFile(predictor, bad, path.join(tmp, 'x'), { chunkSentences: 5 })).rejects.toMatchObject({
      name: 'InputError',
      line: at + 1,
      message: whole.message,
    });
    const bytes = Buffer.concat([
      Buffer.from(lines.slice(0, 300).join('\n') + '\n'),
      Buffer.from([0x41, 0xff, 0x20, 0x4f, 0x0a]),
    ]);
    writeFileSync(bad, bytes);
    await expect(predictFile(predictor, bad, path.join(tmp, 'x'), { chunkSentences: 5 })).rejects.toMatchObject({
      line: 301,
    });
  });
});
