/**
 * Writing the simulated teacher's answer: the Chain-of-Thought reasoning that leads to the entities it
 * believes (believe.ts), and the final JSON in the shape the request asks for, possibly mangled by format
 * and id noise.
 */
import type { BelievedAnswer } from './believe.js';
import type { FoundSentence } from './find.js';
import type { NoiseModel } from './noise.js';
import type { Rng } from './rng.js';
import type { FaultCounter } from './stats.js';

const TYPE_NOUNS: Record<string, string> = {
  PER: 'people',
  ORG: 'organisations',
  LOC: 'locations',
  MISC: 'other named things (nationalities, events, titles)',
};

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
