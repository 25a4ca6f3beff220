/**
 * The Chain-of-Thought prompt the teacher LLM sees, and the protocol its answer follows.
 *
 * PROMPT_PROTOCOL (version 1) — what a server (a real LLM, or `nerd teacher-sim`) receives and must return:
 *
 * Messages, in order:
 *   1. `system`: the task, the entity type definitions, the step-by-step instruction, the answer format.
 *   2. Few-shot demonstrations as `user`/`assistant` pairs. Each demo `user` message has the same form as
 *      the final one (below); each demo `assistant` message is a worked rationale (one line per entity,
 *      saying why it is of its type) followed by the final JSON answer. For `--batch N` with N > 1 the demos
 *      are given as ONE batched exchange in the batched answer shape.
 *   3. The final `user` message: the sentences to annotate, inside a block
 *
 *        <sentences>
 *        {"id":"1","text":"EU rejects German call to boycott British lamb ."}
 *        {"id":"2","text":"Peter Blackburn"}
 *        </sentences>
 *
 *      one JSON object per line; `text` is the sentence's tokens joined by single spaces
 *      (`sentenceText(tokens)`); ids are "1", "2", ... within the request. `parsePromptSentences(messages)`
 *      returns them (a simulator finds the gold sentence by `text`). Only the LAST `<sentences>` block of
 *      the LAST user message is the request; demos never appear there.
 *
 * The answer: free-text step-by-step reasoning, then ONE JSON object (preferably in a ```json fence):
 *   - one sentence in the request:  `{"entities":[{"text":"EU","type":"ORG"}, ...]}`
 *   - several:                      `{"results":[{"id":"1","entities":[...]}, {"id":"2","entities":[]}]}`
 *   Each entity: `text` copied from the sentence, `type` one of the requested types, optional `occurrence`
 *   (1-based: which occurrence of `text` in the sentence is meant; absent or null = every occurrence; how
 *   grounding reads repeated texts, and `occurrence: 1` on a text's only listing, is in ground.ts).
 *   With structured output (the request's `jsonSchema` = `answerSchema(...)`), the whole message is the
 *   JSON object and the reasoning goes in its leading `"reasoning"` string field.
 * A simulator answering from gold should build each sentence's entity list with `answerEntities({tokens,
 * spans})` (lists a text once when all its occurrences share the label, else per `occurrence`), and may
 * use `demoAnswer([...], opts)` for a whole well-formed reply; `answerSchema(types, batched)` is sent as the
 * request's `jsonSchema` unless `--no-structured`.
 * Parsing (parse.ts) also accepts the JSON as the whole message, or as the last JSON object after prose,
 * and repairs trailing commas, single quotes, bullets and the like.
 */
import type { ChatMessage } from './providers/types.js';
import type { TypeDefinition } from './definitions.js';
import { findTokenSequence } from './ground.js';

export const PROMPT_PROTOCOL_VERSION = 1;

/** one sentence as sent to the teacher */
export interface PromptSentence {
  /** request-local id ("1", "2", ...) */
  id: string;
  tokens: string[];
}

/** a human-labelled sentence used as a worked example; spans in TOKEN offsets, end exclusive */
export interface Demo {
  tokens: string[];
  spans: Array<{ start: number; end: number; label: string }>;
}

/** an entity as the teacher states it */
export interface AnswerEntity {
  text: string;
  type: string;
  occurrence?: number | null;
}

export interface PromptOptions {
  definitions: TypeDefinition[];
  /** true: the server enforces `answerSchema`, so reasoning goes in the "reasoning" field */
  structured: boolean;
}

/** The text of a sentence as the teacher sees it: tokens joined by single spaces. */
export function sentenceText(tokens: string[]): string {
  // a token holding whitespace (possible in JSONL input) would shift every later token: use NBSP inside it
  return tokens.map((t) => t.replace(/\s/g, '\u00a0')).join(' ');
}

/** The JSON schema of one entity in the answer (OpenAI strict-mode compatible). */
function entitySchema(types: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      text: { type: 'string', description: 'the entity, copied exactly from the sentence' },
      type: { type: 'string', enum: types },
      occurrence: {
        type: ['integer', 'null'],
        description: '1-based occurrence of text in the sentence; null = every occurrence',
      },
    },
    required: ['text', 'type', 'occurrence'],
    additionalProperties: false,
  };
}

/**
 * JSON schema of the final answer, for structured output (OpenAI `response_format: json_schema`, a
 * llama.cpp grammar). `batched` = several sentences in the request.
 */
export function answerSchema(types: string[], batched: boolean): Record<string, unknown> {
  const entities = { type: 'array', items: entitySchema(types) };
  if (!batched) {
    return {
      type: 'object',
      properties: { reasoning: { type: 'string' }, entities },
      required: ['reasoning', 'entities'],
      additionalProperties: false,
    };
  }
  return {
    type: 'object',
    properties: {
      reasoning: { type: 'string' },
      results: {
        type: 'array',
        items: {
          type: 'object',
          properties: { id: { type: 'string' }, entities },
          required: ['id', 'entities'],
          additionalProperties: false,
        },
      },
    },
    required: ['reasoning', 'results'],
    additionalProperties: false,
  };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function systemMessage(types: string[], opts: PromptOptions, batched: boolean): string {
  const defs = opts.definitions
    .map((d) => {
      const ex = d.examples.length > 0 ? ` Examples: ${d.examples.map(quote).join(', ')}.` : '';
      const notes = d.notes ? ` ${d.notes}` : '';
      return `- ${d.name}: ${d.description}${ex}${notes}`;
    })
    .join('\n');
  const shape = batched
    ? '{"results":[{"id":"1","entities":[{"text":"...","type":"..."}]},{"id":"2","entities":[]}]}'
    : '{"entities":[{"text":"...","type":"..."}]}';
  const lines = [
    'You are an expert annotator of named entities. Find every name of the entity types below in the ' +
      (batched ? 'sentences you are given.' : 'sentence you are given.'),
    '',
    'Entity types:',
    defs,
    '',
    'How to answer:',
    '1. Reason step by step: list the candidate names in the sentence, and for each one decide, using the definitions, whether it is an entity of one of the types and of which type.',
    opts.structured
      ? `2. Answer with ONE JSON object and nothing else. Write your step-by-step reasoning in its "reasoning" field first, then the entities: {"reasoning":"...",${shape.slice(1)}`
      : `2. After your reasoning, give the final answer as ONE JSON object in a \`\`\`json code block: ${shape}`,
    '',
    'Rules:',
    '- "text" is copied exactly from the sentence: the same words, spelling, capitalisation and punctuation. Never invent, translate or correct it.',
    `- "type" is one of: ${types.join(', ')}.`,
    '- Entities never nest or overlap: label the whole name once ("Bank of England" is ORG; do not also label "England").',
    '- If a text occurs several times with the same type, list it once: it is labelled everywhere. If its occurrences have different types, list it once per occurrence, with "occurrence": n (1 = its first occurrence in the sentence), and list the occurrences in order.',
    `- If there are no entities, answer with an empty list.`,
  ];
  if (batched) {
    lines.push(
      '- The sentences are numbered by "id". Reason about each in turn (start each part with its id), and give every id exactly once in "results", in the order given.',
    );
  }
  return lines.join('\n');
}

/** the `<sentences>` block of a user message */
export function sentencesBlock(sentences: PromptSentence[]): string {
  const n = sentences.length;
  const head =
    n === 1
      ? 'Annotate this sentence ("text" is its tokens separated by single spaces):'
      : `Annotate these ${n} sentences ("text" is each sentence's tokens separated by single spaces):`;
  const body = sentences.map((s) => JSON.stringify({ id: s.id, text: sentenceText(s.tokens) })).join('\n');
  return `${head}\n<sentences>\n${body}\n</sentences>`;
}

/**
 * The entities of a labelled sentence in answer form: a text whose every occurrence carries the same label
 * is listed once; otherwise each labelled occurrence is listed with its 1-based `occurrence`.
 */
export function answerEntities(demo: Demo): AnswerEntity[] {
  const out: AnswerEntity[] = [];
  const seen = new Set<string>();
  const spans = [...demo.spans].sort((a, b) => a.start - b.start);
  for (const span of spans) {
    const words = demo.tokens.slice(span.start, span.end);
    const text = words.join(' ');
    const key = `${text}\u0000${span.label}`;
    const occurrences = findTokenSequence(demo.tokens, words);
    const labelledAll = occurrences.every((o) =>
      spans.some((s) => s.start === o && s.end === o + words.length && s.label === span.label),
    );
    if (labelledAll) {
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ text, type: span.label });
    } else {
      out.push({ text, type: span.label, occurrence: occurrences.indexOf(span.start) + 1 });
    }
  }
  return out;
}

const MAX_NON_ENTITY_NOTES = 3;

/** the worked rationale for one labelled sentence: one line per entity, plus capitalised non-entities */
function rationale(demo: Demo, defs: Map<string, TypeDefinition>, prefix: string): string[] {
  const lines: string[] = [];
  const entities = answerEntities(demo);
  const covered = new Set<number>();
  for (const s of demo.spans) for (let i = s.start; i < s.end; i++) covered.add(i);
  for (const e of entities) {
    const gloss = defs.get(e.type)?.gloss ?? `a ${e.type} entity`;
    const which = e.occurrence ? ` (occurrence ${e.occurrence})` : '';
    const n = findTokenSequence(demo.tokens, e.text.split(' ')).length;
    const every = !e.occurrence && n > 1 ? ` It occurs ${n} times, each time as ${e.type}.` : '';
    lines.push(`${prefix}- ${quote(e.text)}${which} names ${gloss}, so it is ${e.type}.${every}`);
  }
  const nonEntities: string[] = [];
  demo.tokens.forEach((t, i) => {
    if (i > 0 && !covered.has(i) && /^\p{Lu}/u.test(t) && !nonEntities.includes(t)) nonEntities.push(t);
  });
  if (nonEntities.length > 0) {
    const shown = nonEntities.slice(0, MAX_NON_ENTITY_NOTES).map(quote).join(', ');
    lines.push(
      `${prefix}- ${shown} ${nonEntities.length === 1 ? 'is capitalised but is' : 'are capitalised but are'} not a name of any of the types.`,
    );
  }
  if (lines.length === 0) lines.push(`${prefix}- There are no names of the given types.`);
  return lines;
}

function entityJson(e: AnswerEntity, structured: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { text: e.text, type: e.type };
  if (structured) o.occurrence = e.occurrence ?? null;
  else if (e.occurrence) o.occurrence = e.occurrence;
  return o;
}

/** The assistant message answering `demos` (as one request) in the protocol's answer form. */
export function demoAnswer(demos: Demo[], opts: PromptOptions): string {
  const defs = new Map(opts.definitions.map((d) => [d.name, d]));
  const batched = demos.length > 1;
  const reasoning: string[] = [];
  demos.forEach((d, i) => {
    if (batched) reasoning.push(`Sentence ${i + 1}:`);
    reasoning.push(...rationale(d, defs, batched ? '  ' : ''));
  });
  const answer: Record<string, unknown> = batched
    ? {
        results: demos.map((d, i) => ({
          id: String(i + 1),
          entities: answerEntities(d).map((e) => entityJson(e, opts.structured)),
        })),
      }
    : { entities: answerEntities(demos[0]!).map((e) => entityJson(e, opts.structured)) };
  if (opts.structured) return JSON.stringify({ reasoning: reasoning.join('\n'), ...answer });
  return `Step by step:\n${reasoning.join('\n')}\n\nFinal answer:\n\`\`\`json\n${JSON.stringify(answer)}\n\`\`\``;
}

/**
 * The messages of one request: system instructions with definitions, demonstrations, then the sentences.
 * `sentences` get request-local ids "1".."N" from the caller.
 */
export function buildMessages(sentences: PromptSentence[], demos: Demo[], opts: PromptOptions): ChatMessage[] {
  if (sentences.length === 0) throw new Error('buildMessages: no sentences');
  const types = opts.definitions.map((d) => d.name);
  const batched = sentences.length > 1;
  const messages: ChatMessage[] = [{ role: 'system', content: systemMessage(types, opts, batched) }];
  if (demos.length > 0) {
    if (batched) {
      const ps = demos.map((d, i) => ({ id: String(i + 1), tokens: d.tokens }));
      messages.push({ role: 'user', content: sentencesBlock(ps) });
      messages.push({ role: 'assistant', content: demoAnswer(demos, opts) });
    } else {
      for (const d of demos) {
        messages.push({ role: 'user', content: sentencesBlock([{ id: '1', tokens: d.tokens }]) });
        messages.push({ role: 'assistant', content: demoAnswer([d], opts) });
      }
    }
  }
  messages.push({ role: 'user', content: sentencesBlock(sentences) });
  return messages;
}

/**
 * The sentences a request asks about (for a simulator): the last `<sentences>` block of the last user
 * message. `tokens` is `text` split on single spaces (NBSP inside a token stays).
 */
export function parsePromptSentences(messages: ChatMessage[]): Array<{ id: string; text: string; tokens: string[] }> {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return [];
  const open = last.content.lastIndexOf('<sentences>\n');
  const close = last.content.lastIndexOf('\n</sentences>');
  if (open < 0 || close < open) return [];
  const body = last.content.slice(open + '<sentences>\n'.length, close);
  const out: Array<{ id: string; text: string; tokens: string[] }> = [];
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as { id: string; text: string };
    out.push({ id: String(o.id), text: o.text, tokens: o.text === '' ? [] : o.text.split(' ') });
  }
  return out;
}
