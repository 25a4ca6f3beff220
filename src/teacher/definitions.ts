/**
 * Entity type definitions: what the teacher is told each label means. Users edit them in a YAML or JSON file
 * (`--definitions FILE`); the defaults below follow the CoNLL-2003 annotation guidelines (which derive from
 * MUC-7), including its less obvious conventions (sports teams named after their city are ORG; nationalities
 * and other adjectives derived from places are MISC).
 *
 * File format (YAML or JSON), either a mapping type → definition, or the same under a `types:` key. A
 * definition is a string (the description) or an object:
 *
 * ```yaml
 * PER:
 *   description: Names of people, including fictional characters and nicknames.
 *   gloss: a person            # short phrase used in the worked rationales ("… names a person, so PER")
 *   examples: [Phil Simmons, Clinton]
 *   notes: Titles and roles alone ("President") are not entities.
 * ORG: Companies, institutions, government bodies, teams.
 * ```
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';

export interface TypeDefinition {
  /** the label, e.g. "PER" */
  name: string;
  /** what counts as this type, in a sentence or two */
  description: string;
  /** a short noun phrase for rationales, e.g. "a person" */
  gloss: string;
  /** entity strings that are of this type */
  examples: string[];
  /** extra guidance (edge cases, what is NOT this type) */
  notes?: string;
}

export const DEFAULT_DEFINITIONS: Record<string, TypeDefinition> = {
  PER: {
    name: 'PER',
    description:
      'Names of people: first names, surnames, full names, nicknames and fictional characters. A family name used alone for a person ("Clinton") is PER.',
    gloss: 'a person',
    examples: ['Phil Simmons', 'Clinton', 'Boris Yeltsin'],
    notes:
      'Titles and roles ("President", "Mr", "coach") are not part of the name. A person\'s name used for an organisation or a prize belongs to that other type.',
  },
  ORG: {
    name: 'ORG',
    description:
      'Names of organisations: companies, institutions, government bodies, political parties, international organisations, news agencies, stock exchanges, universities, and sports teams and clubs.',
    gloss: 'an organisation',
    examples: ['European Commission', 'Reuters', 'Leicestershire', 'Manchester United', 'EU'],
    notes:
      'A team named after its city or county ("Somerset beat Leicestershire") is ORG, not LOC. Abbreviations of organisations are ORG.',
  },
  LOC: {
    name: 'LOC',
    description:
      'Names of locations: countries, cities, regions, states, continents, geographic features (rivers, mountains, seas), and named buildings or places when they are referred to as places.',
    gloss: 'a location',
    examples: ['LONDON', 'Germany', 'West Bank', 'Europe'],
    notes: 'The dateline place at the start of a news story ("LONDON 1996-08-30") is LOC.',
  },
  MISC: {
    name: 'MISC',
    description:
      'Other proper names: nationalities and other adjectives or nouns derived from places or peoples ("German", "British", "West Indian"), religions, languages, events ("World Cup", "Wimbledon" as a tournament), titles of works, products, and other named things that are not PER, ORG or LOC.',
    gloss: 'a named thing that is not a person, organisation or location (nationality, event, work, product ...)',
    examples: ['German', 'West Indian', 'World Cup', 'Euro 96'],
    notes: 'Common nouns, dates, times and numbers are not entities.',
  },
};

const definitionSchema = z.union([
  z.string().min(1),
  z
    .object({
      description: z.string().min(1),
      gloss: z.string().min(1).optional(),
      examples: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
      notes: z.string().optional(),
    })
    .strict(),
]);

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** the lines of a YAML node, for error messages */
function lineOf(node: YamlNode | null | undefined, counter: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : counter.linePos(start).line;
}

/**
 * Reads a definitions file (YAML or JSON; JSON is YAML). Errors name the file and the line of the bad
 * entry.
 */
export function loadDefinitions(file: string): Record<string, TypeDefinition> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read definitions file: ${(err as Error).message}`, file);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new InputError(`not valid YAML/JSON: ${e.message.split('\n')[0]}`, file, pos?.line, pos?.col);
  }
  let root = doc.contents as YamlNode | null;
  if (isMap(root)) {
    const typesNode = root.get('types', true) as YamlNode | undefined;
    if (typesNode !== undefined && root.items.length === 1) root = typesNode;
  }
  if (!isMap(root)) {
    throw new InputError('expected a mapping from entity type to its definition (e.g. "PER: Names of people")', file, lineOf(root, counter) ?? 1);
  }
  const out: Record<string, TypeDefinition> = {};
  for (const pair of root.items) {
    const keyNode = pair.key as YamlNode;
    const name = isScalar(keyNode) ? String(keyNode.value) : '';
    const line = lineOf(keyNode, counter);
    if (!TYPE_NAME.test(name)) {
      throw new InputError(`"${name}" is not a valid entity type name (letters, digits, _ . -)`, file, line);
    }
    const valueNode = pair.value as YamlNode | null;
    const parsed = definitionSchema.safeParse(valueNode === null ? null : (valueNode as { toJSON(): unknown }).toJSON());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
      throw new InputError(
        `definition of ${name} must be a string or {description, gloss?, examples?, notes?}${where}: ${issue?.message ?? 'invalid'}`,
        file,
        lineOf(valueNode, counter) ?? line,
      );
    }
    const v = parsed.data;
    const base = DEFAULT_DEFINITIONS[name];
    out[name] =
      typeof v === 'string'
        ? { name, description: v, gloss: base?.gloss ?? `a ${name} entity`, examples: [] }
        : {
            name,
            description: v.description,
            gloss: v.gloss ?? base?.gloss ?? `a ${name} entity`,
            examples: v.examples ?? [],
            ...(v.notes ? { notes: v.notes } : {}),
          };
  }
  return out;
}

/**
 * The definitions for `types`, in that order: from `file` when given, else the defaults. A type with no
 * definition anywhere is an error (the teacher cannot label what it was never told about).
 */
export function resolveDefinitions(types: string[], file?: string): TypeDefinition[] {
  const fromFile = file ? loadDefinitions(file) : undefined;
  return types.map((t) => {
    const d = fromFile?.[t] ?? DEFAULT_DEFINITIONS[t];
    if (!d) {
      throw new InputError(
        file
          ? `entity type ${t} (from --types) has no definition in this file; add "${t}: <description>"`
          : `entity type ${t} has no default definition; pass --definitions FILE with "${t}: <description>"`,
        file,
      );
    }
    return d;
  });
}

/** Parses `--types PER,ORG,LOC,MISC`. */
export function parseTypes(list: string): string[] {
  const types = list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (types.length === 0) throw new InputError('--types needs at least one entity type, e.g. PER,ORG,LOC,MISC');
  for (const t of types) {
    if (!TYPE_NAME.test(t)) throw new InputError(`--types: "${t}" is not a valid entity type name`);
  }
  if (new Set(types).size !== types.length) throw new InputError(`--types lists a type twice: ${list}`);
  return types;
}
