/**
 * `nerd tokenizer train`: a WordPiece vocabulary trained on unlabelled text with `tokenizers`' trainer,
 * cut to the asked size, loaded by the student's tokenizer, and used by `nerd pretrain --vocab`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { SPECIAL_TOKENS, trainWordPieceVocab } from '../../src/student/tokenizer-train.js';

vi.setConfig({ testTimeout: 120_000 });

const DATA = path.resolve(process.cwd(), '../shared/data');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nerd-vocab-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sentences = readCorpus(path.join(DATA, 'conll2003/train.txt'))
  .corpus.sentences.slice(0, 3000)
  .map((s) => s.tokens);

describe('trainWordPieceVocab', () => {
  it('gives a vocabulary of the asked size, special tokens first, that covers its text with sub-words', () => {
    const vocab = trainWordPieceVocab({ sentences, vocabSize: 3000 });
    expect(vocab).toHaveLength(3000);
    expect(vocab.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(vocab.some((t) => t.startsWith('##'))).toBe(true);
    const tok = Tokenizer.fromVocabText(`${vocab.join('\n')}\n`);
    let pieces = 0;
    let unk = 0;
    let words = 0;
    for (const s of sentences.slice(0, 500)) {
      for (const w of s) {
        const ids = tok.wordIds(w);
        words++;
        pieces += ids.length;
        unk += ids.filter((i) => i === tok.unkId).length;
      }
    }
    expect(unk / words).toBeLessThan(0.001);
    // frequent words are whole tokens; fewer than 2 pieces per word on the text it learnt from (1.66 measured)
    expect(tok.wordIds('the')).toHaveLength(1);
    expect(pieces / words).toBeLessThan(2);
  });

  it('uncased: lower-cases and strips accents like bert-base-uncased', () => {
    const vocab = trainWordPieceVocab({ sentences: [['Café', 'ÉCOLE', 'Straße']], vocabSize: 200, lowercase: true });
    expect(vocab.slice(5).some((t) => /[A-ZÉé]/.test(t))).toBe(false);
    expect(vocab).toContain('cafe');
  });

  it('refuses a size that leaves no room beside the special tokens', () => {
    expect(() => trainWordPieceVocab({ sentences, vocabSize: 5 })).toThrow(/above 5/);
  });
});

describe('nerd tokenizer train', () => {
  it('writes vocab.txt that nerd pretrain --vocab uses', async () => {
    const text = path.join(tmp, 'text.txt');
    writeFileSync(
      text,
      `${sentences
        .slice(0, 400)
        .map((s) => s.join(' '))
        .join('\n')}\n`,
    );
    const out = path.join(tmp, 'vocab.txt');
    const run = (...args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/cli.ts', ...args],
          { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 },
          (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
        );
      });
    const r = await run('tokenizer', 'train', '--text', text, '--vocab-size', '800', '--out', out);
    expect(r.stderr).toContain(`wrote ${out}: 800 tokens`);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n').slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    const p = await run(
      'pretrain',
      '--text',
      text,
      '--vocab',
      out,
      '--model',
      'tiny',
      '--epochs',
      '1',
      '--batch',
      '64',
      '--max-seq',
      '32',
      '--out',
      path.join(tmp, 'pre'),
    );
    expect(p.code, p.stderr).toBe(0);
    const config = JSON.parse(readFileSync(path.join(tmp, 'pre', 'model', 'config.json'), 'utf8'));
    expect(config.vocab_size).toBe(800);
  });
});
