/**
 * What LLM tokens cost. Prices are USD per 1,000,000 tokens, input (prompt) and output (completion).
 * Defaults are providers' published list prices for a few well-known models (check yours: they change,
 * and gateways, batch APIs and cached prompts price differently); any other model — a local GGUF, a vLLM or
 * Ollama server, `nerd teacher-sim` — costs 0 unless a price is given with `--price-in/--price-out` or a
 * `--prices FILE` (YAML/JSON `{model: {input: 2.5, output: 10}}`).
 * A model name matches the longest known name it starts with ("gpt-4o-2024-08-06" → gpt-4o,
 * "gpt-4o-mini-2024-07-18" → gpt-4o-mini).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { Usage } from './providers/types.js';

export interface Price {
  /** USD per 1M prompt tokens */
  input: number;
  /** USD per 1M completion tokens */
  output: number;
}

export const DEFAULT_PRICES: Readonly<Record<string, Price>> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4': { input: 30, output: 60 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
};

const priceFileSchema = z.record(
  z.string(),
  z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict(),
);

export function loadPrices(file: string): Record<string, Price> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
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

/** The price for `model` from `table` (then the defaults); `known` false means it was not found (cost 0). */
export function priceFor(model: string, table: Record<string, Price> = {}): { price: Price; known: boolean; matched?: string } {
  for (const t of [table, DEFAULT_PRICES]) {
    if (t[model]) return { price: t[model]!, known: true, matched: model };
    let best: string | undefined;
    for (const name of Object.keys(t)) if (model.startsWith(name) && (!best || name.length > best.length)) best = name;
    if (best) return { price: t[best]!, known: true, matched: best };
  }
  return { price: { input: 0, output: 0 }, known: false };
}

export function costOf(usage: Usage, price: Price): number {
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1e6;
}
