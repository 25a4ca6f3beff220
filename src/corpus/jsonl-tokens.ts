/**
 * Reader of token JSONL (`tokens-jsonl`, the Hugging Face datasets shape): `{"tokens", "tags"}` (or
 * `"ner_tags"`), or the teacher's token-offset `"entities"`; when a record has both they must agree. The
 * record-level checks (ids, labels, offsets, confidence, extra columns) are shared with the character-offset
 * reader in jsonl.ts, whose header describes both formats.
 */
import { InputError } from '../errors.js';
import { checkLabel, checkOffset, jsonLines, readConfidence, readExtras, readId, settleSpans } from './jsonl.js';
import type { ReadOptions, ReadResult, Repair, Sentence, Span } from './types.js';
import { decodeTagged, type TaggedSentence } from './validate.js';

type Json = Record<string, unknown>;

/** Parses token JSONL (tags, or token-offset entities). */
export function parseTokensJsonl(text: string, file: string, opts: ReadOptions = {}): ReadResult {
  const repairs: Repair[] = [];
  const records = jsonLines(text, file);
  const sentences: Sentence[] = [];
  const tagged: TaggedSentence[] = [];
  const taggedAt: number[] = [];
  const entitySpans: Array<Span[] | undefined> = [];
  for (const { line, record: r } of records) {
    const tokens = r['tokens'];
    if (tokens === undefined) throw new InputError(`missing field "tokens"`, file, line);
    if (!Array.isArray(tokens)) throw new InputError(`"tokens" must be an array of strings`, file, line);
    tokens.forEach((tok, k) => {
      if (typeof tok !== 'string')
        throw new InputError(`tokens[${k}] must be a string, found ${JSON.stringify(tok)}`, file, line);
      if (tok === '') throw new InputError(`tokens[${k}]: empty token`, file, line);
    });
    if (tokens.length === 0) {
      if (opts.strict) throw new InputError(`"tokens" is empty (refused in strict mode)`, file, line);
      repairs.push({ file, line, message: 'sentence without tokens skipped' });
      continue;
    }
    const tagKey = r['tags'] !== undefined ? 'tags' : r['ner_tags'] !== undefined ? 'ner_tags' : undefined;
    if (tagKey) {
      const tags = r[tagKey];
      if (!Array.isArray(tags)) throw new InputError(`"${tagKey}" must be an array of strings`, file, line);
      if (tags.length !== tokens.length) {
        throw new InputError(`"${tagKey}" has ${tags.length} items but "tokens" has ${tokens.length}`, file, line);
      }
      const names = opts.tagNames;
      const strings: string[] = tags.map((tag: unknown, k) => {
        if (typeof tag === 'string') return tag;
        if (typeof tag === 'number' && names) {
          const name = Number.isInteger(tag) ? names[tag] : undefined;
          if (name === undefined) {
            throw new InputError(
              `${tagKey}[${k}]: class id ${tag} has no name (${names.length} tag names given: 0-${names.length - 1})`,
              file,
              line,
            );
          }
          return name;
        }
        throw new InputError(
          `${tagKey}[${k}] must be a tag string such as "B-PER", found ${JSON.stringify(tag)}${typeof tag === 'number' ? ' (integer class ids: give their names with --tag-names)' : ''}`,
          file,
          line,
        );
      });
      tagged.push({ tags: strings, line: () => line, name: (i) => `${tagKey}[${i}]` });
      taggedAt.push(sentences.length);
    }
    let spans: Span[] | undefined;
    if (r['entities'] !== undefined && r['entities'] !== null) {
      const list = r['entities'];
      if (!Array.isArray(list)) throw new InputError(`"entities" must be an array`, file, line);
      spans = list.map((e: unknown, k) => {
        const where = `entities[${k}]`;
        if (e === null || typeof e !== 'object' || Array.isArray(e))
          throw new InputError(`${where}: expected an object with start, end and label (token offsets)`, file, line);
        const o = e as Json;
        const start = checkOffset(o['start'], 'start', where, file, line);
        const end = checkOffset(o['end'], 'end', where, file, line);
        const label = checkLabel(o['label'], where, file, line);
        if (start < 0 || end > tokens.length || start >= end) {
          throw new InputError(
            `${where}: token range [${start}, ${end}) is not a non-empty range inside the sentence (${tokens.length} tokens)`,
            file,
            line,
          );
        }
        const span: Span = { start, end, label };
        const conf = readConfidence(o, where, file, line);
        if (conf !== undefined) span.confidence = conf;
        return span;
      });
      spans = settleSpans(spans, file, line, opts.strict, repairs, (s) => `[${s.start}, ${s.end}) ${s.label}`);
    }
    entitySpans[sentences.length] = spans;
    const id = readId(r, file, line);
    const sentence: Sentence = { id: id ?? `${file}:${line}`, tokens: tokens as string[], spans: spans ?? [], line };
    readExtras(sentence, r, file, line);
    sentences.push(sentence);
  }
  const decoded = decodeTagged(tagged, file, opts);
  repairs.push(...decoded.repairs);
  taggedAt.forEach((at, k) => {
    const fromTags = decoded.spans[k]!;
    const fromEntities = entitySpans[at];
    const sentence = sentences[at]!;
    if (fromEntities && !sameSpans(fromTags, fromEntities)) {
      throw new InputError(`"tags" and "entities" disagree; give one of them`, file, sentence.line);
    }
    if (!fromEntities) sentence.spans = fromTags;
    if (opts.keepWrittenTags) sentence.writtenTags = tagged[k]!.tags;
  });
  return { corpus: { sentences, source: file }, format: 'tokens-jsonl', scheme: decoded.scheme, repairs };
}

function sameSpans(a: Span[], b: Span[]): boolean {
  return (
    a.length === b.length &&
    a.every((s, i) => s.start === b[i]!.start && s.end === b[i]!.end && s.label === b[i]!.label)
  );
}
