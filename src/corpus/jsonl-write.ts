/**
 * Writers of the two JSONL formats described in jsonl.ts: character-offset JSONL (`formatJsonl`, entity
 * offsets from the sentence's token offsets, or from its tokens joined by single spaces) and token JSONL
 * (`formatTokensJsonl`, tags in a chosen scheme or token-offset entities). Both carry the sentence's own id
 * (never the reader's `${file}:${line}` stand-in), its extra CoNLL columns and its `-DOCSTART-` mark.
 */
import { tagsFromSpans } from './tags.js';
import type { Corpus, Sentence, TagScheme } from './types.js';
import { tokenize } from './words.js';

type Json = Record<string, unknown>;

/** The id to write: the sentence's own, unless it is the reader's `${file}:${line}` stand-in. */
function ownId(corpus: Corpus, s: Sentence): string | undefined {
  if (s.id === undefined) return undefined;
  if (corpus.source !== undefined && s.line !== undefined && s.id === `${corpus.source}:${s.line}`) return undefined;
  return s.id;
}

function extras(out: Json, s: Sentence): Json {
  if (s.columns && s.columns.length > 0) out['columns'] = s.columns;
  if (s.docStart) out['docStart'] = true;
  return out;
}

/** Formats character-offset JSONL; a sentence without text gets its tokens joined by single spaces. */
export function formatJsonl(corpus: Corpus): string {
  const lines: string[] = [];
  for (const s of corpus.sentences) {
    let text = s.text;
    let offsets = s.tokenOffsets;
    if (text === undefined || offsets === undefined || offsets.length !== s.tokens.length) {
      text = s.tokens.join(' ');
      offsets = [];
      let pos = 0;
      for (const t of s.tokens) {
        offsets.push([pos, pos + t.length]);
        pos += t.length + 1;
      }
    }
    const out: Json = {};
    const id = ownId(corpus, s);
    if (id !== undefined) out['id'] = id;
    out['text'] = text;
    const auto = tokenize(text);
    const same =
      auto.length === offsets.length && auto.every(([a, b], k) => a === offsets![k]![0] && b === offsets![k]![1]);
    if (!same) out['tokens'] = s.tokens;
    out['entities'] = s.spans.map((sp) => {
      const e: Json = { start: offsets![sp.start]![0], end: offsets![sp.end - 1]![1], label: sp.label };
      if (sp.confidence !== undefined) e['confidence'] = sp.confidence;
      return e;
    });
    lines.push(JSON.stringify(extras(out, s)));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export interface TokensJsonlWriteOptions {
  scheme: TagScheme;
  /** write token-offset `"entities"` (with confidence) instead of `"tags"` */
  entities?: boolean;
}

/** Formats token JSONL: `{"tokens", "tags"}`, or `{"tokens", "entities"}` with `entities: true`. */
export function formatTokensJsonl(corpus: Corpus, opts: TokensJsonlWriteOptions): string {
  const lines: string[] = [];
  for (const s of corpus.sentences) {
    const out: Json = {};
    const id = ownId(corpus, s);
    if (id !== undefined) out['id'] = id;
    out['tokens'] = s.tokens;
    if (opts.entities) {
      out['entities'] = s.spans.map((sp) => {
        const e: Json = { start: sp.start, end: sp.end, label: sp.label };
        if (sp.confidence !== undefined) e['confidence'] = sp.confidence;
        return e;
      });
    } else {
      out['tags'] = tagsFromSpans(s.tokens.length, s.spans, opts.scheme);
    }
    lines.push(JSON.stringify(extras(out, s)));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
