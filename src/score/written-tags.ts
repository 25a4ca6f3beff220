/**
 * The tags of a corpus file as written, for seqeval's strict mode on `--gold/--pred` (the corpus model keeps
 * decoded spans, and strict mode must see an `I-X` after `O` as it was written to refuse it).
 *
 * The corpus reader has already validated the file; this only fetches, for every token it read, the tag column
 * of the token's own line (CoNLL) or the "tags"/"ner_tags" array of the sentence's record (token JSONL). Files
 * without tags (character-offset JSONL, token JSONL with "entities") give their spans rendered in `scheme`,
 * which is what strict mode would read from them anyway.
 */
import { InputError } from '../errors.js';
import { detectFormat, tagsFromSpans } from '../corpus/index.js';
import type { CorpusFormat, ReadResult, TagScheme } from '../corpus/types.js';

export function writtenTags(
  text: string,
  file: string,
  read: ReadResult,
  scheme: TagScheme,
  format: CorpusFormat = detectFormat(text, file),
): string[][] {
  const { corpus } = read;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const lineAt = (n: number): string => {
    const l = lines[n - 1] ?? '';
    return l.endsWith('\r') ? l.slice(0, -1) : l;
  };
  const rendered = (k: number): string[] =>
    tagsFromSpans(corpus.sentences[k]!.tokens.length, corpus.sentences[k]!.spans, scheme);
  const lost = (line: number | undefined): never => {
    throw new InputError(
      'cannot find the tags as written for strict mode; use --conlleval with the two tag columns',
      file,
      line,
    );
  };
  return corpus.sentences.map((s, k) => {
    if (s.line === undefined) return lost(undefined);
    if (format === 'conll') {
      const layout = corpus.layout;
      if (!layout || layout.tagColumn === 0) return rendered(k);
      return s.tokens.map((token, i) => {
        const line = lineAt(s.line! + i).replace(/[ \t]+$/, '');
        const fields = layout.delimiter === '\t' ? line.split('\t') : line.split(/[ \t]+/);
        const c = layout.tagColumn > 0 ? layout.tagColumn - 1 : fields.length + layout.tagColumn;
        if (fields[0] !== token || fields[c] === undefined) lost(s.line! + i);
        return fields[c]!;
      });
    }
    if (format === 'tokens-jsonl') {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(lineAt(s.line)) as Record<string, unknown>;
      } catch {
        return lost(s.line);
      }
      const tags = record['tags'] ?? record['ner_tags'];
      if (tags === undefined) return rendered(k);
      if (!Array.isArray(tags) || tags.length !== s.tokens.length) return lost(s.line);
      return tags.map(String);
    }
    return rendered(k);
  });
}
