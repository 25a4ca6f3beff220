/** `nerd tokenizer train`: a WordPiece vocab.txt of one's own (tokenizer-train.ts). */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { numberFlag } from '../flags.js';
import { readTextFile, TEXT_FORMATS, type TextFormat } from './pretrain-data.js';
import { splitWords } from './predict.js';
import { Tokenizer } from './tokenizer.js';
import { trainWordPieceVocab } from './tokenizer-train.js';

interface Flags {
  text: string[];
  format: string;
  vocabSize: number;
  lowercase?: boolean;
  out: string;
}

export function registerTokenizer(program: Command): void {
  const tokenizer = program.command('tokenizer').description('tokenizers of your own');
  tokenizer
    .command('train')
    .description('train a WordPiece vocabulary (vocab.txt) on unlabelled text, for nerd pretrain/train --vocab')
    .requiredOption(
      '--text <files...>',
      'text: corpus files (CoNLL, JSONL, token JSONL; labels ignored) or plain text, one sentence per line',
    )
    .option('--format <format>', `text format: ${TEXT_FORMATS.join(', ')}`, 'auto')
    .option(
      '--vocab-size <n>',
      'tokens in the vocabulary, the 5 special tokens included',
      numberFlag('--vocab-size', { int: true, min: 6 }),
      30522,
    )
    .option('--lowercase', 'uncased: lower-case and strip accents (then pass --lowercase to pretrain/train too)')
    .requiredOption('--out <file>', 'vocab.txt to write')
    .action((flags: Flags) => {
      if (!TEXT_FORMATS.includes(flags.format as TextFormat))
        throw new InputError(`--format: unknown format "${flags.format}" (${TEXT_FORMATS.join(', ')})`);
      const sentences = flags.text.flatMap((f) => readTextFile(f, flags.format as TextFormat, (t) => splitWords(t)));
      if (sentences.length === 0) throw new InputError(`no sentences in ${flags.text.join(', ')}`);
      const vocab = trainWordPieceVocab({ sentences, vocabSize: flags.vocabSize, lowercase: flags.lowercase });
      const text = `${vocab.join('\n')}\n`;
      // the student's tokenizer must accept it as it will be used
      Tokenizer.fromVocabText(text, { lowercase: flags.lowercase ?? false });
      writeFileAtomic(flags.out, text);
      const short = vocab.length < flags.vocabSize ? ` (the text supports no more than ${vocab.length})` : '';
      process.stderr.write(
        `nerd: wrote ${flags.out}: ${vocab.length} tokens${short} from ${sentences.length} sentences; ` +
          `use it with nerd pretrain --vocab ${flags.out}${flags.lowercase ? ' --lowercase' : ''}\n`,
      );
    });
}
