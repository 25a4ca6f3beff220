/**
 * Shared validation for the tag-based readers (CoNLL and token JSONL): every tag checked once, the scheme
 * detected when not given, spans decoded, and tags that are not canonical in the scheme either repaired
 * (lenient, counted) or refused (strict).
 */
import { InputError } from '../errors.js';
import { bilouToBioes, decodeTags, describeFix, detectScheme, tagProblem } from './tags.js';
import type { ReadOptions, Repair, Span, TagScheme } from './types.js';

export interface TaggedSentence {
  tags: string[];
  /** 1-based line of token i */
  line: (i: number) => number;
  /** 1-based character column of token i's tag, where known */
  column?: (i: number) => number | undefined;
  /** how to name token i's tag in a message, e.g. `tags[3]` (default: `tag`) */
  name?: (i: number) => string;
}

export function decodeTagged(
  sentences: TaggedSentence[],
  file: string,
  opts: ReadOptions,
): { scheme: TagScheme; spans: Span[][]; repairs: Repair[] } {
  const want = opts.scheme ?? 'auto';
  const problems = new Map<string, string | undefined>();
  let bilou = false;
  for (const s of sentences) {
    for (let i = 0; i < s.tags.length; i++) {
      const t = s.tags[i]!;
      let problem: string | undefined;
      if (problems.has(t)) problem = problems.get(t);
      else {
        problems.set(t, (problem = tagProblem(t, want)));
        if (problem === undefined && bilouToBioes(t) !== t) bilou = true;
      }
      if (problem !== undefined) {
        throw new InputError(s.name ? `${s.name(i)}: ${problem}` : problem, file, s.line(i), s.column?.(i));
      }
    }
  }
  // BILOU files are read as BIOES (the same scheme in other letters); repairs name the letters as written
  const tagsOf = bilou ? sentences.map((s) => s.tags.map(bilouToBioes)) : sentences.map((s) => s.tags);
  const scheme: TagScheme = want === 'auto' ? detectScheme(tagsOf) : want;
  const repairs: Repair[] = [];
  const spans: Span[][] = new Array(sentences.length);
  for (let k = 0; k < sentences.length; k++) {
    const s = sentences[k]!;
    const tags = tagsOf[k]!;
    const decoded = decodeTags(tags, scheme);
    for (const fix of decoded.fixes) {
      if (bilou) fix.from = s.tags[fix.index]!;
      if (bilou && bilouToBioes(fix.from) === fix.to) continue;
      const message = (s.name ? `${s.name(fix.index)}: ` : '') + describeFix(s.tags, fix, scheme);
      const line = s.line(fix.index);
      const column = s.column?.(fix.index);
      if (opts.strict) throw new InputError(`${message} (refused in strict mode)`, file, line, column);
      const repair: Repair = { file, line, message, from: fix.from, to: fix.to };
      if (column !== undefined) repair.column = column;
      repairs.push(repair);
    }
    spans[k] = decoded.spans;
  }
  return { scheme, spans, repairs };
}
