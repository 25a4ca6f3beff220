/**
 * `nerd eval --conlleval F` against the real conlleval.pl: the fixture holds what conlleval.pl (2004-01-26)
 * printed and counted on files built deterministically from CoNLL-2003 dev/test (IOB2) and the original IOB1
 * files, with predictions perturbed in many ways (scripts/score-perturb.ts; regenerate with
 * scripts/score-fixtures.ts). Every count and every byte of the text report must match.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConllevalInput, sha256, type CaseSpec } from '../../scripts/score-perturb.js';
import { conllevalSentences, scoreTagSequences } from '../../src/score/index.js';
import { DATA } from '../helpers/data.js';
import { runNerd } from '../helpers/cli.js';

interface Expected {
  tokens: number;
  correctTags: number;
  gold: number;
  found: number;
  correct: number;
  types: Record<string, { gold: number; found: number; correct: number }>;
}
type FixtureCase = CaseSpec & { sha256: string; expected: Expected; report: string };

const fixture = JSON.parse(readFileSync(new URL('./fixtures/conlleval-expected.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
};

const sources = new Map<string, string>();
const source = (name: string): string => {
  if (!sources.has(name)) sources.set(name, readFileSync(path.join(DATA, name), 'utf8'));
  return sources.get(name)!;
};
const dir = mkdtempSync(path.join(tmpdir(), 'nerd-score-'));

describe('nerd eval --conlleval and scoreTagSequences equal conlleval.pl', () => {
  it('covers the cases the acceptance asks for', () => {
    const kinds = new Set(fixture.cases.map((c) => c.kind));
    for (const k of [
      'identity',
      'all-o',
      'wrong-type',
      'shift',
      'drop',
      'invent',
      'b-to-i',
      'type-flip',
      'i-after-o',
      'render-iob1',
      'render-bioes',
      'random-tags',
      'chaos-both',
    ]) {
      expect(kinds.has(k as CaseSpec['kind'])).toBe(true);
    }
    expect(fixture.cases.some((c) => c.source.startsWith('conll2003-iob1/'))).toBe(true);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of fixture.cases) {
    it(c.name, async () => {
      const input = buildConllevalInput(c, source(c.source));
      expect(sha256(input), 'generator changed: re-run npx tsx scripts/score-fixtures.ts').toBe(c.sha256);
      const file = path.join(dir, `${sha256(c.name).slice(0, 12)}.txt`);
      writeFileSync(file, input);
      const args = c.args ?? [];

      const json = await runNerd(['eval', '--conlleval', file, '--json', ...args]);
      expect(json.stderr).toBe('');
      expect(json.code).toBe(0);
      const got = JSON.parse(json.stdout);
      const e = c.expected;
      expect({ tokens: got.tokens, gold: got.gold, found: got.found, correct: got.correct }).toEqual({
        tokens: e.tokens,
        gold: e.gold,
        found: e.found,
        correct: e.correct,
      });
      expect(got.accuracy).toBe(e.tokens ? e.correctTags / e.tokens : 0);
      const types: Expected['types'] = {};
      for (const [name, t] of Object.entries(got.types as Record<string, Expected['types'][string]>)) {
        types[name] = { gold: t.gold, found: t.found, correct: t.correct };
      }
      expect(types).toEqual(e.types);
      expect(Object.keys(got.types)).toEqual(Object.keys(e.types)); // conlleval's (byte-sorted) order

      const text = await runNerd(['eval', '--conlleval', file, ...args]);
      expect(text.stdout).toBe(c.report);

      // the library path: the same sentences as tag arrays through scoreTagSequences
      const sentences = conllevalSentences(input, {
        raw: args.includes('-r'),
        outsideTag: args.includes('-o') ? args[args.indexOf('-o') + 1] : undefined,
        delimiter: args.includes('-d') ? args[args.indexOf('-d') + 1] : undefined,
      });
      const api = scoreTagSequences(sentences.gold, sentences.pred);
      expect([api.tokens, api.correctTags, api.gold, api.found, api.correct]).toEqual([
        e.tokens,
        e.correctTags,
        e.gold,
        e.found,
        e.correct,
      ]);
      expect(Object.fromEntries(api.counts.types)).toEqual(e.types);
    });
  }
});
