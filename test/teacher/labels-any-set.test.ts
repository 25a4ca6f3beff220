/**
 * Label sets beyond CoNLL (issue 9, item 9), on WNUT-17: the types come from the human-labelled data when
 * none are given, a type without a built-in definition gets one written from its name and examples, and a
 * teacher whose F1 on known labels is near 0 stops `nerd distill` with what is probably wrong.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/corpus/index.js';
import type { Sentence } from '../../src/corpus/types.js';
import { DistillConfig } from '../../src/distill/config.js';
import { runDistill } from '../../src/distill/run.js';
import { main } from '../../src/cli.js';
import { definitionsFor, typesFromLabelled, writtenDefinition } from '../../src/teacher/definitions.js';
import { diagnoseTeacher } from '../../src/teacher/quality.js';
import type { AnnotatedSentence } from '../../src/teacher/annotate.js';
import { startTeacherSim, type TeacherSim } from '../../src/teacher/sim/server.js';
import { DATA, DEV, tempDir } from './helpers.js';

const WNUT_TRAIN = join(DATA, 'wnut17/wnut17train.conll');
const WNUT_DEV = join(DATA, 'wnut17/emerging.dev.conll');
const WNUT_TYPES = ['corporation', 'creative-work', 'group', 'location', 'person', 'product'];
const wnut = (file: string, n: number): Sentence[] => readCorpus(file).corpus.sentences.slice(0, n);

const sims: TeacherSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

/** the same sentences, annotated with the gold spans relabelled by `relabel` (undefined: dropped) */
function annotatedAs(gold: Sentence[], relabel: (label: string) => string | undefined): AnnotatedSentence[] {
  return gold.map((s, index) => ({
    id: s.id ?? String(index),
    index,
    tokens: s.tokens,
    entities: s.spans.flatMap((sp) => {
      const label = relabel(sp.label);
      return label
        ? [{ start: sp.start, end: sp.end, label, text: s.tokens.slice(sp.start, sp.end).join(' '), confidence: 1 }]
        : [];
    }),
    rejected: [],
    teacher: { model: 'm', samples: 1 },
  }));
}

describe('types and definitions from the labelled data', () => {
  it('takes the types of WNUT-17 and of CoNLL-2003 from their labels', () => {
    const types = typesFromLabelled(wnut(WNUT_TRAIN, 3394));
    expect([...types].sort()).toEqual(WNUT_TYPES);
    expect(types[0]).toBe('person'); // the most frequent first
    expect(typesFromLabelled(readCorpus(DEV).corpus.sentences.slice(0, 300))).toEqual(['PER', 'ORG', 'LOC', 'MISC']);
  });

  it('writes a definition from the name and labelled examples, with one notice; --definitions overrides', () => {
    const labelled = wnut(WNUT_TRAIN, 3394);
    const lines: string[] = [];
    const defs = definitionsFor(['PER', 'creative-work', 'product'], { labelled, log: (l) => lines.push(l) });
    expect(defs[0]!.description).toMatch(/^Names of people/); // built-in
    expect(defs[1]!.description).toMatch(/^Names of creative work entities \(the label "creative-work"/);
    expect(defs[1]!.examples.length).toBeGreaterThan(2);
    expect(defs[2]!.examples.length).toBeGreaterThan(2);
    expect(lines).toEqual([
      expect.stringMatching(/no built-in definition for creative-work, product; using one written/),
    ]);
    const dir = tempDir();
    const file = join(dir, 'defs.yaml');
    writeFileSync(
      file,
      'product: Names of products, brands and apps.\ncreative-work: Titles of songs, films, books.\nPER: People.\n',
    );
    const own = definitionsFor(['PER', 'creative-work', 'product'], { file, labelled, log: (l) => lines.push(l) });
    expect(own.map((d) => d.description)).toEqual([
      'People.',
      'Titles of songs, films, books.',
      'Names of products, brands and apps.',
    ]);
    expect(lines).toHaveLength(1);
    expect(writtenDefinition('DRUG').description).toBe(
      'Names of drug entities (the label "DRUG" of the labelled data).',
    );
  });
});

describe('a teacher near F1 0 is diagnosed', () => {
  const gold = wnut(WNUT_DEV, 400);
  it('says the types are wrong, the endpoint answers nothing, or the definitions miss the labels', () => {
    expect(
      diagnoseTeacher(
        gold,
        annotatedAs(gold, (l) => l),
        WNUT_TYPES,
      ),
    ).toBeUndefined();
    const conll = ['PER', 'ORG', 'LOC', 'MISC'];
    expect(
      diagnoseTeacher(
        gold,
        annotatedAs(gold, () => undefined),
        conll,
      ),
    ).toMatch(/F1 0\.000 on 400 sentences .*the types asked \(PER, ORG, LOC, MISC\) are not the data's \(.*person.*\)/);
    expect(
      diagnoseTeacher(
        gold,
        annotatedAs(gold, () => undefined),
        WNUT_TYPES,
      ),
    ).toMatch(/found almost nothing — check the endpoint and model/);
    const shifted = (l: string) => WNUT_TYPES[(WNUT_TYPES.indexOf(l) + 1) % WNUT_TYPES.length];
    expect(diagnoseTeacher(gold, annotatedAs(gold, shifted), WNUT_TYPES)).toMatch(
      /finds entities, but not the labelled ones — check that the type definitions/,
    );
  });

  it('stops nerd distill before training when the teacher is asked the wrong types', async () => {
    const dir = tempDir();
    const config = DistillConfig.parse({
      out: join(dir, 'run'),
      strategy: 'teacher-only',
      data: { train: WNUT_TRAIN, dev: WNUT_DEV, test: WNUT_DEV, teacherLimit: 150, devLimit: 20, testLimit: 20 },
      teacher: { types: ['PER', 'ORG', 'LOC', 'MISC'], cache: join(dir, 'cache.sqlite'), noise: 'none' },
      phase1: { epochs: 1 },
    });
    const lines: string[] = [];
    await expect(runDistill(config, { log: (l) => lines.push(l), progress: false })).rejects.toThrow(
      /the teacher scored F1 0\.000 on 150 sentences .*the types asked \(PER, ORG, LOC, MISC\) are not the data's/,
    );
    expect(lines.some((l) => /phase/.test(l) && /epochs/.test(l))).toBe(false); // no student trained
  });
});

describe('nerd annotate without --types', () => {
  it('takes the types from --demos and writes definitions for them', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const blocks = readFileSync(WNUT_DEV, 'utf8')
      .split(/\n\s*\n/)
      .filter((b) => b.trim() !== '');
    const input = join(dir, 'in.conll');
    writeFileSync(input, `${blocks.slice(0, 40).join('\n\n')}\n\n`);
    const sim = await startTeacherSim({ gold: input, noise: 'none', seed: 1, log: null });
    sims.push(sim);
    const out = join(dir, 'out.jsonl');
    let stderr = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string | Uint8Array) => {
      stderr += c.toString();
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main([
        'node',
        'nerd',
        'annotate',
        '--input',
        input,
        '--demos',
        WNUT_TRAIN,
        '--out',
        out,
        '--base-url',
        sim.url,
        '--model',
        'gpt-4o',
        '--no-progress',
      ]);
    } finally {
      process.stderr.write = write;
    }
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/types from --demos: person, /);
    expect(stderr).toMatch(/no built-in definition for .*creative-work/);
    const labels = new Set(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .flatMap((l) => (JSON.parse(l) as AnnotatedSentence).entities.map((e) => e.label)),
    );
    expect(labels.size).toBeGreaterThan(1);
    for (const l of labels) expect(WNUT_TYPES).toContain(l);
  });
});
