/**
 * What the simulated teacher "believes" about one gold sentence: the gold entities passed through the
 * content noise (missed, wrong type, boundary, rephrased, loose copies, false positives, hallucinations),
 * each with the reasoning line that leads to it, listed by the prompt protocol's occurrence rule;
 * deterministic in (simulator seed, sentence text, sample). How it is written out: answer.ts.
 */
import type { GoldCorpus, GoldSentence } from './gold.js';
import type { NoiseModel } from './noise.js';
import { Rng } from './rng.js';
import type { FaultCounter } from './stats.js';

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
