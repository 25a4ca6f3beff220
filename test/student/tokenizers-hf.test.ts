/**
 * Non-WordPiece tokenizer.json (byte-level BPE as RoBERTa's, Unigram/Metaspace as XLM-RoBERTa's) through
 * Hugging Face's `tokenizers`: loaded by `Tokenizer.fromDirectory`, words encoded ahead and read back
 * synchronously as align.ts needs, each word as Hugging Face encodes pre-split words.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { HfTokenizer } from '../../src/student/tokenizer-hf.js';

const root = mkdtempSync(path.join(tmpdir(), 'nerd-tokhf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ROBERTA = path.join(process.cwd(), 'test/student/fixtures/arch/roberta');

/** a tiny XLM-RoBERTa-style Unigram tokenizer folder */
function unigramFolder(): string {
  const dir = path.join(root, 'xlmr');
  const pieces: Array<[string, number]> = [
    ['<s>', 0],
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -2],
    ['▁Paris', -3],
    ['▁Par', -4],
    ['is', -4],
    ['▁Köln', -3],
    ['K', -6],
    ['ö', -6],
    ['l', -6],
    ['n', -6],
    ['▁a', -5],
    ['a', -6],
    ['<mask>', 0],
  ];
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      special('<s>', 0),
      special('<pad>', 1),
      special('</s>', 2),
      special('<unk>', 3),
      special('<mask>', 15),
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: true,
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 3, vocab: pieces, byte_fallback: false },
  };
  const config = {
    tokenizer_class: 'XLMRobertaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    sep_token: '</s>',
    cls_token: '<s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    mask_token: '<mask>',
    model_max_length: 512,
  };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

describe('HfTokenizer', () => {
  it('byte-level BPE: each word as a pre-split word (leading space), specials from the config', async () => {
    const tok = await Tokenizer.fromDirectory(ROBERTA);
    expect(tok).toBeInstanceOf(HfTokenizer);
    expect([tok.clsId, tok.padId, tok.sepId]).toEqual([0, 1, 2]);
    await (tok as HfTokenizer).prepareWords(['w1', 'w2', 'ab']);
    const id = (t: string) => tok.tokenId(t)!;
    // (GPT-2's pre-tokenizer splits digits from letters, so the merge to "Ġw1" never applies)
    expect(tok.wordIds('w1')).toEqual([id('Ġw'), id('1')]);
    expect(tok.wordIds('w2')).toEqual([id('Ġw'), id('2')]);
    expect(tok.wordIds('ab')).toEqual([id('Ġ'), id('a'), id('b')]);
    expect(() => tok.wordIds('never prepared')).toThrow(/not prepared/);
    // running text: the first word has no leading space, as transformers.js encodes it
    const hf = await AutoTokenizer.from_pretrained(ROBERTA, { local_files_only: true });
    expect((await (tok as HfTokenizer).encodeAsync('w1 w2')).ids).toEqual(hf.encode('w1 w2'));
  });

  it('Unigram (Metaspace): words and running text as transformers.js encodes them', async () => {
    const dir = unigramFolder();
    const tok = (await Tokenizer.fromDirectory(dir)) as HfTokenizer;
    expect(tok).toBeInstanceOf(HfTokenizer);
    expect(tok.modelType).toBe('Unigram');
    const words = ['Paris', 'a', 'Köln'];
    await tok.prepareWords(words);
    const hf = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const sentence = [tok.clsId, ...words.flatMap((w) => tok.wordIds(w)), tok.sepId];
    expect(sentence).toEqual(hf.encode(words.join(' ')));
    expect(tok.wordIds('Paris').map((i) => tok.idToken(i))).toEqual(['▁Paris']);
    const enc = await tok.encodeAsync('Köln a');
    expect(enc.tokens).toEqual(['<s>', '▁Köln', '▁a', '</s>']);
    expect(enc.offsets[1]).toEqual([0, 4]);
  });

  it('refuses a tokenizer.json that tokenizers cannot load, naming the file', async () => {
    const dir = path.join(root, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'tokenizer.json'),
      JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: 3 } }),
    );
    const err = await Tokenizer.fromDirectory(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(path.join(dir, 'tokenizer.json'));
    expect((err as InputError).message).toMatch(/^tokenizers cannot load this tokenizer.json/);
  });
});
