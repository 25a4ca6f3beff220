/**
 * Names for integer tag ids, as Hugging Face datasets write token JSONL (`"ner_tags": [3, 0, 7]`). Given as
 * a comma-separated list (`O,B-PER,I-PER`) or a file: a JSON array, a model's config.json (`id2label`), a
 * dataset_info.json (`features.<column>.feature.names`), a JSON object of id → name, or one name per line.
 */
import { existsSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { readText } from '../files.js';

export function loadTagNames(spec: string): string[] {
  if (existsSync(spec) && statSync(spec).isFile()) return tagNamesFromText(readText(spec, 'tag names'), spec);
  const names = spec.split(',').map((x) => x.trim());
  if (names.some((x) => x === ''))
    throw new InputError(`--tag-names: empty name in "${spec}" (give a comma-separated list or a file)`);
  return names;
}

export function tagNamesFromText(text: string, file: string): string[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new InputError(`bad JSON: ${(err as Error).message}`, file);
    }
    const names = fromJson(value);
    if (!names)
      throw new InputError(
        'no tag names found (expected an array, "id2label", or features.<column>.feature.names)',
        file,
      );
    return names;
  }
  const lines = trimmed.split(/\r?\n/).map((l) => l.trim());
  const blank = lines.findIndex((l) => l === '');
  if (blank >= 0) throw new InputError('empty tag name', file, blank + 1);
  return lines;
}

function fromJson(value: unknown): string[] | undefined {
  if (Array.isArray(value))
    return value.every((x) => typeof x === 'string' && x !== '') ? (value as string[]) : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (o['id2label'] !== undefined) return fromJson(o['id2label']);
  if (o['names'] !== undefined) return fromJson(o['names']);
  if (o['features'] && typeof o['features'] === 'object') {
    const f = o['features'] as Record<string, unknown>;
    for (const key of ['ner_tags', 'tags', ...Object.keys(f)]) {
      const col = f[key] as Record<string, unknown> | undefined;
      const names = col && typeof col === 'object' ? fromJson((col['feature'] as unknown) ?? col) : undefined;
      if (names) return names;
    }
    return undefined;
  }
  // {"0": "O", "1": "B-PER", ...}
  const entries = Object.entries(o);
  if (entries.length === 0 || !entries.every(([k, v]) => /^\d+$/.test(k) && typeof v === 'string' && v !== ''))
    return undefined;
  const names: string[] = [];
  for (const [k, v] of entries) names[Number(k)] = v as string;
  return names.length === entries.length ? names : undefined;
}
