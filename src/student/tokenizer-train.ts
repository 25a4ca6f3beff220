/**
 * A WordPiece vocabulary of one's own, trained on unlabelled text with Hugging Face's `tokenizers`
 * trainer, for languages and domains that have no pretrained model: `nerd tokenizer train` writes a
 * vocab.txt that `nerd pretrain --vocab` and `nerd train --vocab` (fresh presets) use.
 *
 * Normalisation and pre-tokenisation are BERT's (cased or, with `lowercase`, uncased with accents
 * stripped), the same the student's tokenizer applies. The npm binding trains with the model's default
 * trainer only (no vocabulary size or special tokens to set), so the size is applied afterwards: the
 * trainer numbers tokens alphabet first, then merges in the order it made them (most frequent pair first),
 * and any prefix of that order is itself a complete WordPiece vocabulary. BERT's five special tokens come
 * first ([PAD] = 0).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bertNormalizer, bertPreTokenizer, Tokenizer as RustTokenizer, WordPiece } from 'tokenizers';
import { InputError } from '../errors.js';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface TrainVocabOptions {
  /** sentences as words */
  sentences: readonly (readonly string[])[];
  /** tokens in the vocabulary, special tokens included */
  vocabSize: number;
  /** uncased (lower-case, strip accents), as bert-base-uncased */
  lowercase?: boolean;
}

/** the vocabulary (tokens by id), ready to be written as vocab.txt */
export function trainWordPieceVocab(o: TrainVocabOptions): string[] {
  if (!Number.isInteger(o.vocabSize) || o.vocabSize <= SPECIAL_TOKENS.length) {
    throw new InputError(
      `vocabulary size must be an integer above ${SPECIAL_TOKENS.length} (the special tokens), got ${o.vocabSize}`,
    );
  }
  if (o.sentences.length === 0) throw new InputError('no text to train a tokenizer on');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nerd-vocab-'));
  try {
    // the binding trains from files
    const file = path.join(dir, 'text.txt');
    writeFileSync(file, `${o.sentences.map((s) => s.join(' ')).join('\n')}\n`);
    const tok = new RustTokenizer(WordPiece.empty());
    tok.setNormalizer(
      bertNormalizer({
        lowercase: o.lowercase ?? false,
        stripAccents: o.lowercase ?? false,
        cleanText: true,
        handleChineseChars: true,
      }),
    );
    tok.setPreTokenizer(bertPreTokenizer());
    tok.train([file]);
    const trained = Object.entries(tok.getVocab(false))
      .sort((a, b) => a[1] - b[1])
      .map(([t]) => t);
    const special = new Set<string>(SPECIAL_TOKENS);
    return [...SPECIAL_TOKENS, ...trained.filter((t) => !special.has(t))].slice(0, o.vocabSize);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
