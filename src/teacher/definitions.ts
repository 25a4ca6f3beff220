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
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { readText } from '../files.js';

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
  const text = readText(file, 'definitions file');
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
    throw new InputError(
      'expected a mapping from entity type to its definition (e.g. "PER: Names of people")',
      file,
      lineOf(root, counter) ?? 1,
    );
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
    const parsed = definitionSchema.safeParse(
      valueNode === null ? null : (valueNode as { toJSON(): unknown }).toJSON(),
    );
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

/** a labelled sentence, as far as these helpers need it */
interface Labelled {
  tokens: string[];
  spans: Array<{ start: number; end: number; label: string }>;
}

/**
 * The entity types of human-labelled data, for runs that name none: the types with a built-in definition
 * first, in the built-in order (PER, ORG, LOC, MISC), then the others by decreasing frequency (ties by name).
 */
export function typesFromLabelled(sentences: Iterable<Labelled>): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const sp of s.spans) counts.set(sp.label, (counts.get(sp.label) ?? 0) + 1);
  const builtIn = Object.keys(DEFAULT_DEFINITIONS).filter((t) => counts.has(t));
  const others = [...counts.entries()]
    .filter(([t]) => !DEFAULT_DEFINITIONS[t])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([t]) => t);
  return [...builtIn, ...others];
}

const MAX_WRITTEN_EXAMPLES = 6;

/** "creative-work" → "creative work", "B-CHEMICAL" names are left to the caller */
function words(name: string): string {
  return name
    .replace(/[_.-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
}

/**
 * A definition written from a type's name and its most frequent labelled strings, for a type that has no
 * built-in one and none in --definitions: `person` → "Names of person entities, as in the labelled
 * examples: ...". Plain, but it names the type the way the data does and shows what the annotators meant.
 */
export function writtenDefinition(name: string, labelled: Iterable<Labelled> = []): TypeDefinition {
  const counts = new Map<string, number>();
  for (const s of labelled) {
    for (const sp of s.spans) {
      if (sp.label !== name) continue;
      const text = s.tokens.slice(sp.start, sp.end).join(' ');
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
  }
  const examples = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_WRITTEN_EXAMPLES)
    .map(([t]) => t);
  const w = words(name) || name;
  return {
    name,
    description:
      `Names of ${w} entities (the label "${name}" of the labelled data)` +
      (examples.length > 0
        ? `, like the labelled examples: ${examples.map((e) => JSON.stringify(e)).join(', ')}.`
        : '.'),
    gloss: `a ${w}`,
    examples,
    notes: 'Label a name only when it is clearly of this type; common nouns, dates and numbers are not entities.',
  };
}

/**
 * The definitions for `types`, in that order: from `file` when given (a type missing there is an error, as
 * in resolveDefinitions), else the built-in ones, else written from the type's name and the labelled
 * examples (writtenDefinition), with one notice line per run naming the types that got one.
 */
export function definitionsFor(
  types: string[],
  opts: { file?: string; labelled?: Iterable<Labelled>; log?: (line: string) => void } = {},
): TypeDefinition[] {
  if (opts.file) return resolveDefinitions(types, opts.file);
  const labelled = opts.labelled ? [...opts.labelled] : [];
  const written: string[] = [];
  const defs = types.map((t) => {
    const d = DEFAULT_DEFINITIONS[t];
    if (d) return d;
    written.push(t);
    return writtenDefinition(t, labelled);
  });
  if (written.length > 0) {
    opts.log?.(
      `note: no built-in definition for ${written.join(', ')}; using one written from the name${labelled.length > 0 ? ' and the labelled examples' : ''} (pass --definitions FILE for better ones)`,
    );
  }
  return defs;
}
