/**
 * What LLM tokens cost. Prices are USD per 1,000,000 tokens, input (prompt) and output (completion; for
 * reasoning models that includes the hidden reasoning tokens, billed as output).
 *
 * The defaults are providers' published list prices (standard tier, no batch or cached-prompt discount,
 * Gemini's ≤200k-token prompt tier) for the models named, as published in 2025: check yours, they change.
 * Anything else — a local GGUF, a vLLM or Ollama server, an Azure deployment name — has NO known price
 * unless one is given with `--price-in/--price-out` or a `--prices FILE` (YAML/JSON `{model: {input: 2.5,
 * output: 10}}`). `nerd teacher-sim` (model "SIMULATED-teacher…") costs 0.
 *
 * Matching a model name, in order, in the user's table and then the defaults:
 *   1. the exact name (case-insensitive);
 *   2. the name without a provider prefix: `openai/gpt-4o`, `models/gemini-2.5-flash` → the part after the
 *      last "/";
 *   3. the name without a date suffix (`-2024-08-06`, `-latest`): gpt-4o-2024-08-06 → gpt-4o — only for
 *      dates the table does not list itself, so snapshots priced differently (gpt-4o-2024-05-13) are listed.
 * There is no other prefix matching: "gpt-4-0125-preview" is not "gpt-4", "o3-pro" is not "o3".
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { readText } from '../files.js';
import { SIM_MODEL_PREFIX, type Usage } from './providers/types.js';

export interface Price {
  /** USD per 1M prompt tokens */
  input: number;
  /** USD per 1M completion tokens */
  output: number;
}

const p = (input: number, output: number): Price => ({ input, output });

export const DEFAULT_PRICES: Readonly<Record<string, Price>> = {
  // GPT-4o: the first snapshot was priced higher than later ones
  'gpt-4o': p(2.5, 10),
  'gpt-4o-2024-05-13': p(5, 15),
  'gpt-4o-2024-08-06': p(2.5, 10),
  'gpt-4o-2024-11-20': p(2.5, 10),
  'chatgpt-4o-latest': p(5, 15),
  'gpt-4o-mini': p(0.15, 0.6),
  'gpt-4o-mini-2024-07-18': p(0.15, 0.6),
  // GPT-4.1 family
  'gpt-4.1': p(2, 8),
  'gpt-4.1-2025-04-14': p(2, 8),
  'gpt-4.1-mini': p(0.4, 1.6),
  'gpt-4.1-mini-2025-04-14': p(0.4, 1.6),
  'gpt-4.1-nano': p(0.1, 0.4),
  'gpt-4.1-nano-2025-04-14': p(0.1, 0.4),
  // GPT-4 Turbo and its previews (priced as Turbo, not as GPT-4)
  'gpt-4-turbo': p(10, 30),
  'gpt-4-turbo-2024-04-09': p(10, 30),
  'gpt-4-turbo-preview': p(10, 30),
  'gpt-4-0125-preview': p(10, 30),
  'gpt-4-1106-preview': p(10, 30),
  'gpt-4': p(30, 60),
  'gpt-4-0613': p(30, 60),
  'gpt-4-32k': p(60, 120),
  'gpt-3.5-turbo': p(0.5, 1.5),
  'gpt-3.5-turbo-0125': p(0.5, 1.5),
  'gpt-3.5-turbo-1106': p(1, 2),
  // reasoning models
  o1: p(15, 60),
  'o1-2024-12-17': p(15, 60),
  'o1-preview': p(15, 60),
  'o1-mini': p(1.1, 4.4),
  'o1-pro': p(150, 600),
  o3: p(2, 8),
  'o3-2025-04-16': p(2, 8),
  'o3-mini': p(1.1, 4.4),
  'o3-mini-2025-01-31': p(1.1, 4.4),
  'o3-pro': p(20, 80),
  'o4-mini': p(1.1, 4.4),
  'o4-mini-2025-04-16': p(1.1, 4.4),
  'gpt-5': p(1.25, 10),
  'gpt-5-2025-08-07': p(1.25, 10),
  'gpt-5-chat-latest': p(1.25, 10),
  'gpt-5-mini': p(0.25, 2),
  'gpt-5-mini-2025-08-07': p(0.25, 2),
  'gpt-5-nano': p(0.05, 0.4),
  'gpt-5-nano-2025-08-07': p(0.05, 0.4),
  // Gemini (Google AI, prompts up to 200k tokens)
  'gemini-2.5-pro': p(1.25, 10),
  'gemini-2.5-flash': p(0.3, 2.5),
  'gemini-2.5-flash-lite': p(0.1, 0.4),
  'gemini-2.0-flash': p(0.1, 0.4),
  'gemini-2.0-flash-lite': p(0.075, 0.3),
  'gemini-1.5-pro': p(1.25, 5),
  'gemini-1.5-flash': p(0.075, 0.3),
};

const priceFileSchema = z.record(
  z.string(),
  z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict(),
);

export function loadPrices(file: string): Record<string, Price> {
  const text = readText(file, 'price table');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InputError(`cannot read price table: ${(err as Error).message.split('\n')[0]}`, file);
  }
  const parsed = priceFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      `price table must map model names to {input, output} (USD per 1M tokens)${issue ? `: ${issue.path.join('.')} ${issue.message}` : ''}`,
      file,
    );
  }
  return parsed.data;
}

export interface PriceMatch {
  price: Price;
  /** false: not found (the cost of such a model cannot be counted) */
  known: boolean;
  /** the table entry that matched */
  matched?: string;
}

function lookup(table: Record<string, Price>, name: string): string | undefined {
  if (table[name]) return name;
  const lower = name.toLowerCase();
  return Object.keys(table).find((k) => k.toLowerCase() === lower);
}

/** The price for `model` from `table`, then the defaults (matching rules: the top of this file). */
export function priceFor(model: string, table: Record<string, Price> = {}): PriceMatch {
  if (model.startsWith(SIM_MODEL_PREFIX)) return { price: p(0, 0), known: true, matched: SIM_MODEL_PREFIX };
  const bare = model.slice(model.lastIndexOf('/') + 1);
  const undated = bare.replace(/-(\d{4}-\d{2}-\d{2}|latest)$/i, '');
  for (const t of [table, DEFAULT_PRICES]) {
    for (const name of [model, bare, undated]) {
      const hit = lookup(t, name);
      if (hit) return { price: t[hit]!, known: true, matched: hit };
    }
  }
  return { price: p(0, 0), known: false };
}

/** the one-line refusal of a budget that cannot be counted */
export function unknownPriceHint(model: string): string {
  return `no price is known for model "${model}", so --max-cost cannot be kept: give one with --price-in/--price-out (USD per 1M tokens) or --prices FILE (YAML {"${model}": {input: 2.5, output: 10}})`;
}

export function costOf(usage: Usage, price: Price): number {
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1e6;
}
