/**
 * The WordPiece step of the BERT tokenizer: splits one word, already normalised and pre-tokenized by
 * tokenizer-basic.ts, into vocabulary sub-words exactly as Hugging Face's WordPiece model does, keeping
 * each sub-word's [start, end) range in the original text.
 */
import type { TokenizerSettings } from './tokenizer-settings.js';

/**
 * WordPiece over one normalised word (from basicWords): greedy longest match from the left, the
 * continuing-sub-word prefix on continuations; a word longer than `maxInputCharsPerWord` code points, or one
 * with an unmatchable remainder, becomes one unknown token. Emits each sub-word id with its source range.
 */
export function wordPiece(
  ids: ReadonlyMap<string, number>,
  unkId: number,
  settings: Pick<TokenizerSettings, 'maxInputCharsPerWord' | 'continuingSubwordPrefix'>,
  word: string,
  bounds: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  emit: (id: number, start: number, end: number) => void,
): void {
  const n = starts.length;
  const wordStart = starts[0]!;
  const wordEnd = ends[n - 1]!;
  if (n > settings.maxInputCharsPerWord) {
    emit(unkId, wordStart, wordEnd);
    return;
  }
  const whole = ids.get(word);
  if (whole !== undefined) {
    emit(whole, wordStart, wordEnd);
    return;
  }
  const prefix = settings.continuingSubwordPrefix;
  const pieces: number[] = [];
  let start = 0;
  while (start < n) {
    let end = n;
    let found = -1;
    while (start < end) {
      const sub = word.slice(bounds[start], bounds[end]);
      const id = ids.get(start > 0 ? prefix + sub : sub);
      if (id !== undefined) {
        found = id;
        break;
      }
      end--;
    }
    if (found < 0) {
      emit(unkId, wordStart, wordEnd);
      return;
    }
    pieces.push(found, start, end);
    start = end;
  }
  for (let k = 0; k < pieces.length; k += 3) emit(pieces[k]!, starts[pieces[k + 1]!]!, ends[pieces[k + 2]! - 1]!);
}
