/**
 * The counting core of the CoNLL `conlleval` script (Erik Tjong Kim Sang, version 2004-01-26), re-expressed in
 * TypeScript rule for rule so that every count it produces equals the Perl script's on any input:
 *
 * - a tag splits at its FIRST hyphen into prefix and type (`B-PER-X` -> `B` + `PER-X`); a tag without a hyphen
 *   has type ""; a type spelled exactly "0" becomes "" (Perl's truthiness);
 * - chunks start and end by `startOfChunk` / `endOfChunk` below, which know B, I, O, E, `[`, `]` and `.`
 *   and otherwise rely on a change of type (so `I-X` after `O` or after another type starts a chunk, IOB1 works,
 *   and an S- or unknown prefix only starts a chunk when the type changes);
 * - a chunk is correct when gold and prediction start it on the same token with the same type and end it on
 *   the same token, with the types staying equal in between;
 * - sentence boundaries (blank lines, lines whose first field is `-X-`) are rows with tags O/O that are not
 *   counted as tokens; every other row — `-DOCSTART-` lines included — is a token.
 *
 * The reading of conlleval's own file format lives in conlleval-input.ts; this file only counts. The tag split
 * and the two chunk rules are the corpus stage's (corpus/tags.ts), the one implementation that the corpus
 * readers, the student's decoding and the teacher simulator use too.
 */
import { conllevalEndOfChunk as endOfChunk, conllevalStartOfChunk as startOfChunk, splitTag } from '../corpus/tags.js';

/** Counts for one entity type. */
export interface TypeCounts {
  /** chunks in the gold column ("phrases" in conlleval's report) */
  gold: number;
  /** chunks in the predicted column ("found") */
  found: number;
  /** chunks identical in both ("correct") */
  correct: number;
}

/** Everything conlleval counts. Rates are derived from these (see report.ts). */
export interface Counts {
  /** tokens processed (boundary rows excluded, `-DOCSTART-` rows included, as conlleval does) */
  tokens: number;
  /** tokens whose gold and predicted tags are equal (conlleval: same prefix and same type) */
  correctTags: number;
  gold: number;
  found: number;
  correct: number;
  /** per entity type, in conlleval's report order (types sorted by their UTF-8 bytes) */
  types: Map<string, TypeCounts>;
  /**
   * Type names exactly as conlleval's report lists them. Equal to the keys of `types` except for one quirk of the
   * script: the empty type name (from tags like `B` or `I-` without a type) is listed twice when it occurs in both
   * columns.
   */
  reportOrder: string[];
}

function bump(map: Map<string, TypeCounts>, type: string, key: keyof TypeCounts): void {
  let entry = map.get(type);
  if (!entry) {
    entry = { gold: 0, found: 0, correct: 0 };
    map.set(type, entry);
  }
  entry[key]++;
}

/**
 * conlleval's main loop as a streaming counter: feed it rows (gold tag, predicted tag) and boundaries in file
 * order, then call `finish()`.
 */
export class ConllevalCounter {
  private lastCorrect = 'O';
  private lastCorrectType = '';
  private lastGuessed = 'O';
  private lastGuessedType = '';
  private inCorrect = false;
  private tokens = 0;
  private correctTags = 0;
  private gold = 0;
  private found = 0;
  private correct = 0;
  private readonly types = new Map<string, TypeCounts>();
  private finished = false;

  /** One token row. `goldTag` is conlleval's "correct" column, `predTag` its "guessed" column. */
  token(goldTag: string, predTag: string): void {
    const [correct, correctType] = splitTag(goldTag);
    const [guessed, guessedType] = splitTag(predTag);
    this.step(correct, correctType, guessed, guessedType, false);
  }

  /** A sentence boundary: a blank line or a line whose first field is `-X-`. */
  boundary(): void {
    this.step('O', '', 'O', '', true);
  }

  private step(correct: string, correctType: string, guessed: string, guessedType: string, isBoundary: boolean): void {
    if (this.finished) throw new Error('ConllevalCounter: finish() was already called');
    const { lastCorrect, lastCorrectType, lastGuessed, lastGuessedType } = this;
    if (this.inCorrect) {
      const goldEnds = endOfChunk(lastCorrect, correct, lastCorrectType, correctType);
      const predEnds = endOfChunk(lastGuessed, guessed, lastGuessedType, guessedType);
      if (goldEnds && predEnds && lastGuessedType === lastCorrectType) {
        this.inCorrect = false;
        this.correct++;
        bump(this.types, lastCorrectType, 'correct');
      } else if (goldEnds !== predEnds || guessedType !== correctType) {
        this.inCorrect = false;
      }
    }
    const goldStarts = startOfChunk(lastCorrect, correct, lastCorrectType, correctType);
    const predStarts = startOfChunk(lastGuessed, guessed, lastGuessedType, guessedType);
    if (goldStarts && predStarts && guessedType === correctType) this.inCorrect = true;
    if (goldStarts) {
      this.gold++;
      bump(this.types, correctType, 'gold');
    }
    if (predStarts) {
      this.found++;
      bump(this.types, guessedType, 'found');
    }
    if (!isBoundary) {
      if (correct === guessed && guessedType === correctType) this.correctTags++;
      this.tokens++;
    }
    this.lastGuessed = guessed;
    this.lastCorrect = correct;
    this.lastGuessedType = guessedType;
    this.lastCorrectType = correctType;
  }

  /** End of input: a chunk still open and correct so far counts as correct (as in conlleval). */
  finish(): Counts {
    if (!this.finished) {
      this.finished = true;
      if (this.inCorrect) {
        this.correct++;
        bump(this.types, this.lastCorrectType, 'correct');
      }
    }
    return orderedCounts(this.tokens, this.correctTags, this.gold, this.found, this.correct, this.types);
  }
}

/** Builds `Counts` with types in conlleval's report order (and its list of names, quirk included). */
export function orderedCounts(
  tokens: number,
  correctTags: number,
  gold: number,
  found: number,
  correct: number,
  types: Map<string, TypeCounts>,
): Counts {
  const names = [...types.keys()].sort(compareUtf8);
  const ordered = new Map<string, TypeCounts>();
  const reportOrder: string[] = [];
  for (const name of names) {
    const entry = types.get(name)!;
    ordered.set(name, { ...entry });
    // conlleval sorts the keys of both hashes together and drops a repeat only when the previous name is
    // Perl-true; "" is false, so an empty type in both columns is listed twice.
    reportOrder.push(name);
    if (name === '' && entry.gold > 0 && entry.found > 0) reportOrder.push(name);
  }
  return { tokens, correctTags, gold, found, correct, types: ordered, reportOrder };
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Scores sentences of tags the way conlleval scores a file that holds them, one token per line, with a blank line
 * after every sentence.
 */
export function conllevalCounts(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[]): Counts {
  const counter = new ConllevalCounter();
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s]!;
    const p = pred[s]!;
    for (let t = 0; t < g.length; t++) counter.token(g[t]!, p[t]!);
    counter.boundary();
  }
  return counter.finish();
}
