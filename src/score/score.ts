/**
 * The scoring entry points other stages call: tag sequences or whole corpora in, a Report out.
 */
import { InputError } from '../errors.js';
import { tagsFromSpans } from '../corpus/tags.js';
import type { Corpus, Sentence, Span, TagScheme } from '../corpus/types.js';
import { conllevalCounts, type Counts } from './conlleval.js';
import { reportFromCounts, type Report, type ScoreMode } from './report.js';
import { strictCounts, type StrictScheme } from './strict.js';

export interface ScoreOptions {
  /**
   * 'conlleval' (default): exactly the CoNLL conlleval script's chunks and counts.
   * 'strict': seqeval's strict mode for `scheme`.
   */
  mode?: ScoreMode;
  /** strict mode's tag scheme (default iob2) */
  scheme?: StrictScheme;
}

/**
 * Scores predicted tag sequences against gold ones, sentence by sentence. In conlleval mode the result equals
 * conlleval's on a file holding the sentences one token per line with a blank line after each.
 */
export function scoreTagSequences(
  gold: readonly (readonly string[])[],
  pred: readonly (readonly string[])[],
  options: ScoreOptions = {},
): Report {
  if (gold.length !== pred.length) {
    throw new InputError(`gold has ${gold.length} sentences but the prediction has ${pred.length}`);
  }
  for (let s = 0; s < gold.length; s++) {
    if (gold[s]!.length !== pred[s]!.length) {
      throw new InputError(
        `sentence ${s + 1}: gold has ${gold[s]!.length} tags but the prediction has ${pred[s]!.length}`,
      );
    }
  }
  const mode = options.mode ?? 'conlleval';
  const counts: Counts =
    mode === 'strict' ? strictCounts(gold, pred, options.scheme ?? 'iob2') : conllevalCounts(gold, pred);
  return reportFromCounts(counts, mode);
}

/** IOB2 tags of a sentence's spans (B- on the first token, I- on the rest). */
export function iob2Tags(sentence: Sentence, where: () => string = () => ''): string[] {
  const tags = new Array<string>(sentence.tokens.length).fill('O');
  const spans: Span[] = [...sentence.spans].sort((a, b) => a.start - b.start);
  let covered = 0;
  for (const span of spans) {
    if (span.start < covered || span.start < 0 || span.end > tags.length || span.end <= span.start) {
      throw new InputError(
        `entity ${span.label} [${span.start}, ${span.end}) overlaps another or lies outside the sentence${where()}`,
      );
    }
    tags[span.start] = `B-${span.label}`;
    for (let t = span.start + 1; t < span.end; t++) tags[t] = `I-${span.label}`;
    covered = span.end;
  }
  return tags;
}

export interface CorpusScoreOptions extends ScoreOptions {
  /**
   * conlleval counts each `-DOCSTART-` line as a (correctly tagged) token. Our corpora keep them as document
   * boundaries, not tokens; set this to add them back so that `tokens` and `accuracy` equal conlleval's on the
   * pasted files. Entity counts are unaffected either way.
   */
  countDocStarts?: boolean;
  /**
   * Tag scheme in which token accuracy is measured (default iob2). conlleval compares the tags as written, so
   * pass the gold file's scheme (e.g. iob1 for the original CoNLL-2003 files) to get its accuracy for
   * predictions written in that scheme. Entity counts do not depend on it.
   */
  accuracyScheme?: TagScheme;
}

function located(corpus: Corpus, sentence: Sentence | undefined, index: number): string {
  const file = corpus.source ?? 'prediction';
  return sentence?.line !== undefined ? `${file}:${sentence.line}` : `${file} sentence ${index + 1}`;
}

/**
 * Scores a predicted corpus against a gold one. Refuses (InputError naming the prediction's file and line) when
 * the two do not hold the same sentences with the same tokens. Both sides are scored on their decoded entities
 * (rendered as IOB2, so for IOB1/IOB2 input the entity counts are conlleval's on the original tags; for BIOES
 * input it scores the BIOES entities rather than conlleval's merging of touching S-/E- chunks). Token accuracy
 * compares the tags rendered in `accuracyScheme`: equal to conlleval's when both files were written, validly, in
 * that scheme; tags a lenient reader repaired (an `I-X` after `O` in IOB2) count as their repaired form.
 */
export function scoreCorpora(gold: Corpus, pred: Corpus, options: CorpusScoreOptions = {}): Report {
  const gs = gold.sentences;
  const ps = pred.sentences;
  const predFile = pred.source;
  if (gs.length !== ps.length) {
    const shorter = Math.min(gs.length, ps.length);
    const at = ps[shorter] ?? ps[ps.length - 1];
    throw new InputError(
      `the prediction has ${ps.length} sentences but the gold corpus${gold.source ? ` (${gold.source})` : ''} has ${gs.length}` +
        (gs.length > ps.length && gs[shorter]?.line !== undefined
          ? `; first missing gold sentence at ${located(gold, gs[shorter], shorter)}`
          : ''),
      predFile,
      at?.line,
    );
  }
  const goldTags: string[][] = [];
  const predTags: string[][] = [];
  for (let s = 0; s < gs.length; s++) {
    const g = gs[s]!;
    const p = ps[s]!;
    if (g.tokens.length !== p.tokens.length) {
      throw new InputError(
        `sentence ${s + 1} has ${p.tokens.length} tokens here but ${g.tokens.length} in gold (${located(gold, g, s)})`,
        predFile,
        p.line,
      );
    }
    for (let t = 0; t < g.tokens.length; t++) {
      if (g.tokens[t] !== p.tokens[t]) {
        throw new InputError(
          `sentence ${s + 1}, token ${t + 1} is ${JSON.stringify(p.tokens[t])} here but ${JSON.stringify(g.tokens[t])} in gold (${located(gold, g, s)})`,
          predFile,
          // a CoNLL file has one token per line from the sentence's first line on
          p.line !== undefined && pred.layout ? p.line + t : p.line,
        );
      }
    }
    goldTags.push(iob2Tags(g, () => ` (${located(gold, g, s)})`));
    predTags.push(iob2Tags(p, () => ` (${located(pred, p, s)})`));
  }
  let report = scoreTagSequences(goldTags, predTags, options);
  const scheme = options.accuracyScheme ?? 'iob2';
  if (scheme !== 'iob2' && report.mode === 'conlleval') {
    let correctTags = 0;
    for (let s = 0; s < gs.length; s++) {
      const n = gs[s]!.tokens.length;
      const g = tagsFromSpans(n, gs[s]!.spans, scheme);
      const p = tagsFromSpans(n, ps[s]!.spans, scheme);
      for (let t = 0; t < n; t++) if (g[t] === p[t]) correctTags++;
    }
    report = reportFromCounts({ ...report.counts, correctTags }, report.mode);
  }
  if (options.countDocStarts) {
    let docStarts = gs.filter((s) => s.docStart).length;
    if (gold.layout?.trailingDocStart !== undefined) docStarts++;
    if (docStarts > 0) {
      const counts: Counts = {
        ...report.counts,
        tokens: report.counts.tokens + docStarts,
        correctTags: report.counts.correctTags + docStarts,
      };
      return reportFromCounts(counts, report.mode);
    }
  }
  return report;
}
