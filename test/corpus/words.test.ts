/**
 * Raw text is split into words one way (corpus/words.ts). Training data given as text (character-offset
 * JSONL, read by the corpus readers that `nerd train` and the teacher use) and text sent to a served model
 * (`Predictor.predictTexts`, which `nerd serve`'s workers and `nerd predict --text` call) must give a model
 * the same words, or it is served on a tokenisation it never saw. Both real paths are run here.
 */
import { describe, expect, it } from 'vitest';
import { parseCorpus, splitWords } from '../../src/corpus/index.js';
import { Predictor } from '../../src/student/predict.js';
import { Tokenizer } from '../../src/student/tokenizer.js';
import { VOCAB } from '../helpers/data.js';

const AWKWARD = [
  '€100 and $5.99, or 20% off (£3)!',
  'A state-of-the-art, long-term plan — e-mail me; co-operate',
  'Thumbs up 👍🏽 from 👨‍👩‍👧 and 🇨🇭 ✔️',
  'See https://example.org/a-b?q=1&x=y#top or mail ann@example.com',
  "U.S. isn't N.Y.'s café naïve 東京 x\u200By  tabs\tand\u00a0nbsp",
  '   ',
];

/** the words `nerd train` gets from a character-offset JSONL record {"text": ...} */
function trainWords(text: string): string[] {
  const { corpus } = parseCorpus(`${JSON.stringify({ text, entities: [] })}\n`, 'train.jsonl');
  return corpus.sentences[0]?.tokens ?? []; // a blank text is no sentence: no words
}

/** the words a served model predicts on for the same text (no model needed: logits are all zero) */
async function serveWords(texts: string[]): Promise<string[][]> {
  const tok = await Tokenizer.fromVocabFile(VOCAB.cased);
  const labels = ['O', 'B-PER', 'I-PER'];
  const predictor = new Predictor(tok, labels, async (b) => new Float32Array(b.batchSize * b.seqLen * labels.length), {
    maxSeq: 64,
  });
  return (await predictor.predictTexts(texts)).map((p) => p.tokens);
}

describe('raw text split into words', () => {
  it('gives training and serving the same words on awkward text (currency, hyphens, emoji, URLs)', async () => {
    const served = await serveWords(AWKWARD);
    AWKWARD.forEach((text, i) => expect(served[i], text).toEqual(trainWords(text)));
  });

  it('splits every non-alphanumeric character off on its own, keeping offsets', () => {
    expect(trainWords('€100')).toEqual(['€', '100']);
    expect(trainWords('state-of-the-art')).toEqual(['state', '-', 'of', '-', 'the', '-', 'art']);
    expect(trainWords('https://x.org')).toEqual(['https', ':', '/', '/', 'x', '.', 'org']);
    expect(trainWords('naïve café')).toEqual(['naïve', 'café']);
    for (const text of AWKWARD) for (const w of splitWords(text)) expect(text.slice(w.start, w.end)).toBe(w.word);
  });
});
