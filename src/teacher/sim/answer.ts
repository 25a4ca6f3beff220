/**
 * Writing the simulated teacher's answer: the entities it "believes" (gold plus content noise), the
 * Chain-of-Thought reasoning that leads to them, and the final JSON, possibly mangled by format noise.
 */
import type { FoundSentence } from './find.js';
import type { GoldCorpus, GoldSentence } from './gold.js';
import type { NoiseModel } from './noise.js';
import { Rng } from './rng.js';

export interface SimEntity {
  text: string;
  type: string;
  /** token span the teacher means, when it is one of the sentence's (not for hallucinations) */
  start?: number;
  end?: number;
  /** 1-based occurrence of `text`'s tokens in the sentence, set when not every occurrence is meant */
  occurrence?: number;
}

function sameWords(tokens: string[], at: number, words: string[]): boolean {
  for (let k = 0; k < words.length; k++) if (tokens[at + k] !== words[k]) return false;
  return true;
}

/**
 * The protocol's occurrence rule (see PROMPT_PROTOCOL in ../prompt.ts): a text whose every occurrence in
 * the sentence is meant with the same type is listed once without `occurrence`; otherwise each meant
 * occurrence is listed with its 1-based `occurrence`.
 */
export function assignOccurrences(tokens: string[], entities: SimEntity[]): SimEntity[] {
  const out: SimEntity[] = [];
  const listed = new Set<string>();
  for (const e of entities) {
    if (e.start === undefined || e.end === undefined) {
      out.push(e);
      continue;
    }
    const words = tokens.slice(e.start, e.end);
    const positions: number[] = [];
    for (let i = 0; i + words.length <= tokens.length; i++) if (sameWords(tokens, i, words)) positions.push(i);
    const all = positions.every((p) =>
      entities.some((o) => o.start === p && o.end === p + words.length && o.type === e.type),
    );
    if (all) {
      const key = `${e.text}\u0000${e.type}`;
      if (listed.has(key)) continue;
      listed.add(key);
      out.push({ ...e });
    } else {
      out.push({ ...e, occurrence: positions.indexOf(e.start) + 1 });
    }
  }
  return out;
}

/** Counters of everything the noise model did (see SimStats.faults). */
export const FAULT_KINDS = [
  'missed',
  'wrong_type',
  'boundary',
  'rephrased',
  'article',
  'edge_punctuation',
  'hallucinated',
  'false_positive',
  'dropped_sentence',
  'invalid_json',
  'truncated_json',
  'trailing_comma',
  'prose_after_json',
  'length_cutoff',
  'max_tokens_cutoff',
  'zero_based_ids',
  'duplicate_id',
  'missing_id',
  'rate_limit',
  'server_error',
  'slow',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultCounter = (kind: FaultKind) => void;

const TYPE_NOUNS: Record<string, string> = {
  PER: 'people',
  ORG: 'organisations',
  LOC: 'locations',
  MISC: 'other named things (nationalities, events, titles)',
};

const TYPE_WORDS: Record<string, string> = {
  PER: 'a person',
  ORG: 'an organisation',
  LOC: 'a location (a place, country or region)',
  MISC: 'a named thing that is not a person, organisation or location (a nationality, event, title ...)',
  person: 'a person',
  location: 'a location',
  corporation: 'a company',
  product: 'a product',
  'creative-work': 'a creative work',
  group: 'a group',
  Disease: 'a disease',
};

function describe(type: string): string {
  return TYPE_WORDS[type] ?? `a ${type} entity`;
}

/**
 * Which wrong type a teacher gives, for the CoNLL types: a rough guess at the usual confusions (a country
 * as a sports team, a team as a place, an event or nationality as an organisation), not measured data.
 * Other type sets: uniform over the other types.
 */
const CONFUSIONS: Record<string, Record<string, number>> = {
  LOC: { ORG: 0.6, MISC: 0.3, PER: 0.1 },
  ORG: { LOC: 0.5, MISC: 0.3, PER: 0.2 },
  MISC: { ORG: 0.4, LOC: 0.3, PER: 0.3 },
  PER: { ORG: 0.5, LOC: 0.3, MISC: 0.2 },
};

function confuse(type: string, types: string[], rng: Rng): string {
  const others = types.filter((x) => x !== type);
  const weights = others.map((o) => CONFUSIONS[type]?.[o] ?? 0);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return rng.pick(others);
  let r = rng.next() * total;
  for (let i = 0; i < others.length; i++) {
    r -= weights[i]!;
    if (r < 0) return others[i]!;
  }
  return others[others.length - 1]!;
}

/** Names no sentence is likely to contain, for hallucinations when the corpus offers none. */
const FALLBACK_HALLUCINATIONS: SimEntity[] = [
  { text: 'United Nations', type: 'ORG' },
  { text: 'Barack Obama', type: 'PER' },
  { text: 'Europe', type: 'LOC' },
  { text: 'World Cup', type: 'MISC' },
];

function spanText(tokens: string[], start: number, end: number): string {
  return tokens.slice(start, end).join(' ');
}

/** The sample a request stands for: temperature 0 is greedy, so the seed is ignored there. */
export function sampleKey(temperature: number | undefined, seed: number | undefined): string {
  return (temperature ?? 1) === 0 ? 't0' : `t${temperature ?? 1}/s${seed ?? 0}`;
}

export interface BelievedAnswer {
  entities: SimEntity[];
  /** one reasoning line per entity, in the order the teacher "found" them */
  reasoning: string[];
}

/**
 * What the teacher answers for one gold sentence under the content noise, deterministic in
 * (simSeed, sentence, sample).
 */
export function believe(
  sentence: GoldSentence,
  corpus: GoldCorpus,
  noise: NoiseModel,
  simSeed: number,
  sample: string,
  count: FaultCounter,
): BelievedAnswer {
  // keyed by the sentence's text, not its position: a corpus that repeats a sentence gets one answer for it
  const rng = new Rng(`${simSeed}|content|${sentence.tokens.join(' ')}|${sample}`);
  const { tokens } = sentence;
  const entities: SimEntity[] = [];
  const reasoning: string[] = [];
  const types = corpus.types.length > 0 ? corpus.types : ['PER', 'ORG', 'LOC', 'MISC'];
  const inEntity = new Set<number>();
  for (const e of sentence.entities) for (let i = e.start; i < e.end; i++) inEntity.add(i);

  for (const e of sentence.entities) {
    const r = rng.next();
    let { start, end, type } = e;
    const goldText = spanText(tokens, start, end);
    let text = goldText;
    let t = noise.missRate;
    if (r < t) {
      count('missed');
      continue;
    }
    if (r < (t += noise.wrongTypeRate) && types.length > 1) {
      type = confuse(type, types, rng);
      count('wrong_type');
      text = goldText;
    } else if (r < (t += noise.boundaryRate)) {
      const options: Array<[number, number]> = [];
      if (start > 0) options.push([start - 1, end]);
      if (end < tokens.length) options.push([start, end + 1]);
      if (end - start > 1) options.push([start + 1, end], [start, end - 1]);
      [start, end] = rng.pick(options.length > 0 ? options : [[start, end]]);
      text = spanText(tokens, start, end);
      count('boundary');
    } else if (r < (t += noise.rephraseRate)) {
      const variant = rng.int(3);
      if (variant === 0) text = goldText.toLowerCase();
      else if (variant === 1) text = `the ${goldText}`;
      else text = goldText.replace(/ (?=[.,'’)-])|(?<=[(-]) /g, '') + (/[A-Za-z]$/.test(goldText) ? "'s" : '');
      count('rephrased');
    }
    // loose copies (independent draws): what a real LLM writes around a name it found
    if (rng.chance(noise.articleRate) && !/^(the|a|an) /iu.test(text)) {
      text = `the ${text}`;
      count('article');
    }
    if (rng.chance(noise.edgePunctuationRate)) {
      text = rng.pick([`${text}.`, `${text},`, `"${text}"`, `"${text}",`]);
      count('edge_punctuation');
    }
    entities.push({ text, type, start, end });
    reasoning.push(`'${text}' is ${describe(type)} → ${type}.`);
  }

  if (rng.chance(noise.falsePositiveRate)) {
    const free = tokens
      .map((tok, i) => ({ tok, i }))
      .filter(({ tok, i }) => !inEntity.has(i) && /^[A-Za-z][a-z]{2,}$/.test(tok));
    const capitalised = free.filter(({ tok, i }) => i > 0 && /^[A-Z]/.test(tok));
    const pool = capitalised.length > 0 ? capitalised : free;
    if (pool.length > 0) {
      const { tok, i } = rng.pick(pool);
      const type = rng.pick(types);
      entities.push({ text: tok, type, start: i, end: i + 1 });
      reasoning.push(`'${tok}' looks like ${describe(type)} → ${type}.`);
      count('false_positive');
    }
  }

  if (rng.chance(noise.hallucinationRate)) {
    const key = tokens.join(' ').toLowerCase();
    let pick: SimEntity | undefined;
    for (let tries = 0; tries < 8 && !pick; tries++) {
      const other = corpus.sentences[rng.int(corpus.sentences.length)];
      const e = other && other.entities.length > 0 ? rng.pick(other.entities) : undefined;
      if (e) {
        const text = spanText(other!.tokens, e.start, e.end);
        if (!key.includes(text.toLowerCase())) pick = { text, type: e.type };
      }
    }
    pick ??= FALLBACK_HALLUCINATIONS.find((h) => !key.includes(h.text.toLowerCase()));
    if (pick) {
      entities.push(pick);
      reasoning.push(`The sentence also refers to '${pick.text}', which is ${describe(pick.type)} → ${pick.type}.`);
      count('hallucinated');
    }
  }
  return { entities: assignOccurrences(tokens, entities), reasoning };
}

export type AnswerShape = 'single' | 'batch';

export interface AnswerPlan {
  shape: AnswerShape;
  /** the schema lists an "occurrence" field: always send it (null = every occurrence) */
  occurrenceAlways: boolean;
  /** the key of the entity type field: "type" unless the schema asks for "label" */
  typeKey: string;
  /** the schema asks for a top-level reasoning string */
  reasoningField?: string;
}

/** Reads what the request wants the answer to look like from its JSON schema, else from the prompt. */
export function planAnswer(schema: unknown, promptText: string, sentences: number): AnswerPlan {
  const props =
    (schema && typeof schema === 'object'
      ? (schema as { properties?: Record<string, unknown> }).properties
      : undefined) ?? {};
  let shape: AnswerShape;
  if ('results' in props) shape = 'batch';
  else if ('entities' in props) shape = 'single';
  else shape = sentences > 1 || /"results"\s*:/.test(promptText) ? 'batch' : 'single';
  const schemaText = JSON.stringify(schema ?? {});
  const typeKey = /"label"\s*:/.test(schemaText) && !/"type"\s*:\s*\{/.test(schemaText) ? 'label' : 'type';
  const reasoningField = ['reasoning', 'rationale', 'thoughts'].find((k) => k in props);
  const occurrenceAlways = /"occurrence"\s*:/.test(schemaText);
  return { shape, typeKey, reasoningField, occurrenceAlways };
}

export interface SentenceAnswer {
  found: FoundSentence;
  believed: BelievedAnswer;
}

/** Id drift in a batched answer (noise.ts: zeroBasedIdsRate, duplicateIdRate, missingIdRate), one draw per attempt. */
export interface IdDrift {
  noise: NoiseModel;
  rng: Rng;
  count: FaultCounter;
}

function driftIds(results: Array<Record<string, unknown>>, drift: IdDrift): void {
  const { noise, rng, count } = drift;
  if (results.length < 2) return;
  const r = rng.next();
  if (r < noise.zeroBasedIdsRate) {
    results.forEach((x, i) => (x.id = String(i)));
    count('zero_based_ids');
  } else if (r < noise.zeroBasedIdsRate + noise.duplicateIdRate) {
    const i = 1 + rng.int(results.length - 1);
    results[i]!.id = results[i - 1]!.id;
    count('duplicate_id');
  } else if (r < noise.zeroBasedIdsRate + noise.duplicateIdRate + noise.missingIdRate) {
    delete results[rng.int(results.length)]!.id;
    count('missing_id');
  }
}

/**
 * The final answer object: `{"entities": [...]}` or `{"results": [{"id", "entities"}]}`; with `drift`, a
 * batched answer's ids may be numbered from 0, duplicated or left out.
 */
export function answerObject(
  answers: SentenceAnswer[],
  plan: AnswerPlan,
  reasoning?: string,
  drift?: IdDrift,
): Record<string, unknown> {
  const ents = (a: SentenceAnswer) =>
    a.believed.entities.map((e) => {
      const o: Record<string, unknown> = { text: e.text, [plan.typeKey]: e.type };
      if (e.occurrence !== undefined) o.occurrence = e.occurrence;
      else if (plan.occurrenceAlways) o.occurrence = null;
      return o;
    });
  let body: Record<string, unknown>;
  if (plan.shape === 'single') body = { entities: answers[0] ? ents(answers[0]) : [] };
  else {
    const results: Array<Record<string, unknown>> = answers.map((a, i) => ({
      id: a.found.id ?? String(i + 1),
      entities: ents(a),
    }));
    if (drift) driftIds(results, drift);
    body = { results };
  }
  return plan.reasoningField && reasoning !== undefined ? { [plan.reasoningField]: reasoning, ...body } : body;
}

/** Chain-of-Thought text for the answers, in the style of a prompted LLM. */
export function reasoningText(answers: SentenceAnswer[], types: string[]): string {
  const parts: string[] = [];
  for (const a of answers) {
    const label = a.found.id !== undefined ? `Sentence ${a.found.id}` : 'The sentence';
    const lines = [`${label}: "${a.found.text}"`];
    lines.push(`Step 1: I look for names of ${types.map((t) => TYPE_NOUNS[t] ?? `${t} entities`).join(', ')}.`);
    if (a.believed.reasoning.length === 0) {
      lines.push('Step 2: No word or phrase here names an entity of these types.');
    } else {
      lines.push(`Step 2: ${a.believed.reasoning[0]}`);
      for (const r of a.believed.reasoning.slice(1)) lines.push(`        ${r}`);
    }
    lines.push(
      `Step 3: That gives ${a.believed.entities.length} entit${a.believed.entities.length === 1 ? 'y' : 'ies'}.`,
    );
    parts.push(lines.join('\n'));
  }
  return parts.join('\n\n');
}

export interface FormattedAnswer {
  content: string;
  finishReason: 'stop' | 'length';
}

/**
 * The message content in plain-text mode: reasoning, then the JSON (fenced or after "Final answer:"),
 * with format noise drawn from `rng` (one draw per attempt).
 */
export function formatPlain(
  reasoning: string,
  answer: Record<string, unknown>,
  answers: SentenceAnswer[],
  noise: NoiseModel,
  rng: Rng,
  count: FaultCounter,
): FormattedAnswer {
  let json = JSON.stringify(answer);
  if (rng.chance(noise.invalidJsonRate)) {
    count('invalid_json');
    if (rng.next() < 0.5) {
      const bullets = answers.flatMap((a) =>
        a.believed.entities.map((e) => `- ${a.found.id !== undefined ? `[${a.found.id}] ` : ''}${e.text} (${e.type})`),
      );
      return { content: `${reasoning}\n\nFinal answer:\n${bullets.join('\n') || '- none'}`, finishReason: 'stop' };
    }
    json = json.replace(/"/g, "'").replace(/'(\w+)':/g, '$1:');
  } else if (rng.chance(noise.trailingCommaRate)) {
    json = JSON.stringify(answer, null, 2).replace(/(["\d\]}])(\n\s*[\]}])/g, '$1,$2');
    count('trailing_comma');
  }
  if (rng.chance(noise.truncatedJsonRate)) {
    json = json.slice(0, Math.max(1, Math.floor(json.length * (0.3 + 0.5 * rng.next()))));
    count('truncated_json');
  }
  const fenced = rng.next() < 0.5;
  let content = fenced
    ? `${reasoning}\n\nFinal answer:\n\`\`\`json\n${json}\n\`\`\``
    : `${reasoning}\n\nFinal answer: ${json}`;
  if (rng.chance(noise.proseAfterJsonRate)) {
    content += '\n\nI hope this helps. Let me know if you want me to explain any of these labels.';
    count('prose_after_json');
  }
  if (rng.chance(noise.lengthCutoffRate)) {
    count('length_cutoff');
    return { content: content.slice(0, Math.floor(content.length * (0.3 + 0.6 * rng.next()))), finishReason: 'length' };
  }
  return { content, finishReason: 'stop' };
}
