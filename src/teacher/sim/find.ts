/**
 * Finding the sentences a request asks about, in the last user message. First the pipeline's own protocol
 * (PROMPT_PROTOCOL v1 in ../prompt.ts: the last `<sentences>` block, one {"id","text"} JSON object per line).
 * Without such a block the simulator does not depend on one prompt layout: it reads the message line by
 * line, recognises the usual ways of listing sentences with ids
 *   `[s1] text`, `(s1) text`, `s1: text`, `s1. text`, `- s1: text`, `Sentence s1: text`, `id=s1 text`,
 *   `<sentence id="s1">text</sentence>`, a JSON object per line or embedded `{"id": .., "text"|"tokens": ..}`,
 * or a line that is just the sentence, optionally quoted or after `Sentence:` / `Text:` / `Input:`,
 * and keeps the candidates whose normalised text (see gold.ts) is a sentence of the gold corpus.
 *
 * Few-shot demonstrations may sit in the same message; they come before the sentences to annotate and
 * are followed by their answers. So when the message has a marker such as "Sentences to annotate",
 * "Now annotate", "Input:" or "### Task", only the text after the last marker is searched; and a sentence
 * whose line is followed (before the next sentence) by a JSON answer or "Answer:" line is taken as a demo.
 */
import type { GoldCorpus, GoldSentence } from './gold.js';
import { normaliseKey } from './gold.js';

export interface FoundSentence {
  /** the id the prompt gave it, if any */
  id?: string;
  gold?: GoldSentence;
  /** every gold sentence with this text (more than one when the corpus repeats a sentence) */
  candidates?: GoldSentence[];
  /** the text as it appeared in the prompt */
  text: string;
}

export interface ChatMessageLike {
  role: string;
  content: unknown;
}

const MARKER =
  /^\s*(#+\s*)?(now\b.*annotate|sentences? to (annotate|label|tag)|annotate (the following|these|this)|(input|task|query|question)\s*(sentences?)?\s*:?\s*$|input\s*:)/i;

const ID = String.raw`([A-Za-z0-9][A-Za-z0-9_:.\/#-]{0,63})`;
const LINE_PATTERNS: RegExp[] = [
  new RegExp(String.raw`^\s*<sentence\s+id\s*=\s*["']?${ID}["']?\s*>(.*?)(</sentence>)?\s*$`, 'i'),
  new RegExp(String.raw`^\s*[-*•]?\s*\[${ID}\]\s*:?\s*(.+)$`),
  new RegExp(String.raw`^\s*[-*•]?\s*\(${ID}\)\s*:?\s*(.+)$`),
  new RegExp(String.raw`^\s*[-*•]?\s*(?:sentence|id|sid)\s*[=#:]?\s*${ID}\s*[:=.)\]-]\s*(.+)$`, 'i'),
  new RegExp(String.raw`^\s*[-*•]?\s*${ID}\s*[:|=]\s*(.+)$`),
  new RegExp(String.raw`^\s*[-*•]?\s*${ID}[.)]\s+(.+)$`),
];
const LABEL_PREFIX = /^\s*(sentence|text|input|tokens)\s*:\s*/i;

function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && 'text' in part ? String((part as { text: unknown }).text) : '',
      )
      .join('\n');
  }
  return '';
}

function unquote(text: string): string {
  let t = text.trim();
  if (t.length >= 2 && /^["'“`]/.test(t) && /["'”`]$/.test(t)) t = t.slice(1, -1).trim();
  return t;
}

/** A JSON-ish token array `["EU", "rejects", ...]` as text, else undefined. */
function tokensText(text: string): string | undefined {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
  try {
    const arr = JSON.parse(t) as unknown;
    if (Array.isArray(arr) && arr.every((x) => typeof x === 'string')) return arr.join(' ');
  } catch {
    /* not a token array */
  }
  return undefined;
}

/** Every gold sentence whose text is `text` (case kept first, then case-folded); empty when none. */
export function lookupAll(corpus: GoldCorpus, text: string): GoldSentence[] {
  const variants = [text, unquote(text), unquote(text.replace(LABEL_PREFIX, ''))];
  const tokens = tokensText(unquote(text.replace(LABEL_PREFIX, '')));
  if (tokens !== undefined) variants.push(tokens);
  for (const fold of [false, true]) {
    for (const v of variants) {
      const hit = (fold ? corpus.byFoldedKey : corpus.byKey).get(normaliseKey(v, fold));
      if (hit) return hit;
    }
  }
  return [];
}

export function lookup(corpus: GoldCorpus, text: string): GoldSentence | undefined {
  return lookupAll(corpus, text)[0];
}

/**
 * A corpus may hold the same sentence twice with different labels (CoNLL-2003 dev labels "BIRMINGHAM ,
 * England 1996-08-31" once with ORG, once with LOC). Requests list consecutive corpus sentences, so an
 * ambiguous sentence is resolved to the candidate nearest the unambiguous sentences of the same request
 * (each candidate used once); alone in a request, it gets the first.
 */
function disambiguate(found: FoundSentence[]): FoundSentence[] {
  const anchors = found.filter((f) => f.candidates?.length === 1).map((f) => f.candidates![0]!.index);
  if (anchors.length === 0 || found.every((f) => (f.candidates?.length ?? 0) <= 1)) return found;
  const used = new Set<number>();
  return found.map((f, position) => {
    if (!f.candidates || f.candidates.length <= 1) return f;
    // where this sentence would sit: the anchor of the nearest neighbour in the request, offset by distance
    let best = f.candidates[0]!;
    let bestDistance = Infinity;
    for (const c of f.candidates) {
      if (used.has(c.index)) continue;
      let d = Infinity;
      found.forEach((g, p) => {
        if (g.candidates?.length === 1) d = Math.min(d, Math.abs(c.index - (g.candidates[0]!.index + (position - p))));
      });
      if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    used.add(best.index);
    return { ...f, gold: best };
  });
}

/** Candidates from one line: an (id, text) pair for every pattern that matches, then the whole line. */
function lineCandidates(line: string): Array<{ id?: string; text: string }> {
  const out: Array<{ id?: string; text: string }> = [];
  const trimmed = line.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      const obj = JSON.parse(trimmed) as Record<string, unknown>;
      const text =
        obj.text ?? obj.sentence ?? (Array.isArray(obj.tokens) ? (obj.tokens as unknown[]).join(' ') : undefined);
      if (typeof text === 'string') out.push({ id: obj.id === undefined ? undefined : String(obj.id), text });
    } catch {
      /* not JSON */
    }
  }
  for (const re of LINE_PATTERNS) {
    const m = re.exec(line);
    if (m && !/^(sentence|text|input|tokens|output|answer|example)$/i.test(m[1]!)) out.push({ id: m[1], text: m[2]! });
  }
  out.push({ text: line });
  return out;
}

/** `"id": "s1", "text": "..."` or `"tokens": [...]` pairs embedded in a JSON listing spread over lines. */
function embeddedJsonCandidates(text: string): Array<{ id?: string; text: string; at: number }> {
  const out: Array<{ id?: string; text: string; at: number }> = [];
  const re =
    /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*,\s*"(text|sentence|tokens)"\s*:\s*("(?:[^"\\]|\\.)*"|\[(?:[^\]"\\]|"(?:[^"\\]|\\.)*")*\])/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    try {
      const id = String(JSON.parse(m[1]!));
      const value = JSON.parse(m[3]!) as unknown;
      const sentence = Array.isArray(value) ? value.join(' ') : String(value);
      out.push({ id, text: sentence, at: m.index });
    } catch {
      /* skip */
    }
  }
  return out;
}

/** The part of a message after its last "sentences to annotate" marker (all of it when there is none). */
function targetSection(text: string): string {
  const lines = text.split(/\r?\n/);
  let last = -1;
  lines.forEach((l, i) => {
    if (MARKER.test(l)) last = i;
  });
  return last < 0 ? text : lines.slice(last).join('\n');
}

const ANSWER_LINE = /^\s*(answer|output|entities|reasoning|step\s*\d|final)\b|^\s*[{`]/i;

/**
 * The sentences a request asks about, in prompt order, without duplicates (by id, else by gold sentence).
 * Sentences not in the gold corpus are returned only when the prompt marks them with an id in a JSON
 * listing (`gold` undefined then): a line of prose is never mistaken for a sentence.
 */
export function findSentences(messages: ChatMessageLike[], corpus: GoldCorpus): FoundSentence[] {
  // Only the last user message asks: earlier ones are few-shot demonstrations.
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return last ? findInText(messageText(last.content), corpus) : [];
}

/**
 * The pipeline's protocol (PROMPT_PROTOCOL v1 in ../prompt.ts): the last `<sentences>` block of the message,
 * one `{"id","text"}` JSON object per line. Every sentence listed there is returned, in gold or not.
 */
function sentencesBlock(text: string, corpus: GoldCorpus): FoundSentence[] | undefined {
  const open = text.lastIndexOf('<sentences>');
  const close = text.lastIndexOf('</sentences>');
  if (open < 0 || close < open) return undefined;
  const out: FoundSentence[] = [];
  for (const line of text.slice(open + '<sentences>'.length, close).split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cand = lineCandidates(line)[0]!;
    const candidates = lookupAll(corpus, cand.text);
    out.push({ id: cand.id, text: cand.text.trim(), gold: candidates[0], candidates });
  }
  return disambiguate(out);
}

export function findInText(text: string, corpus: GoldCorpus): FoundSentence[] {
  const block = sentencesBlock(text, corpus);
  if (block && block.length > 0) return block;
  const section = targetSection(text);
  const found: Array<FoundSentence & { line: number }> = [];
  const lines = section.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    for (const cand of lineCandidates(line)) {
      const candidates = lookupAll(corpus, cand.text);
      if (candidates.length > 0) {
        found.push({ id: cand.id, gold: candidates[0], candidates, text: cand.text.trim(), line: i });
        return;
      }
    }
  });
  // Demonstrations: a found line followed, before the next found line, by an answer is a demo.
  const kept = found.filter((f, k) => {
    const nextLine = k + 1 < found.length ? found[k + 1]!.line : lines.length;
    if (k + 1 === found.length) return true; // the last sentence is never a demo
    for (let i = f.line + 1; i < nextLine; i++) if (ANSWER_LINE.test(lines[i]!)) return false;
    return true;
  });
  let result: FoundSentence[] = kept.map(({ id, gold, candidates, text: t }) => ({ id, gold, candidates, text: t }));
  if (result.length === 0) {
    result = embeddedJsonCandidates(section).map((c) => {
      const candidates = lookupAll(corpus, c.text);
      return { id: c.id, gold: candidates[0], candidates, text: c.text };
    });
  }
  result = disambiguate(result);
  const seen = new Set<string>();
  return result.filter((f) => {
    const key = f.id !== undefined ? `id:${f.id}` : `gold:${f.gold?.index}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
