/**
 * `nerd eval`: malformed input gives a one-line `file:line: message` and exit code 2; --gold/--pred scores two
 * corpus files (in any format) with conlleval's entity counts and refuses misaligned files.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConllevalInput } from '../../scripts/score-perturb.js';
import { formatCorpus, parseCorpus } from '../../src/corpus/index.js';
import { runCli, runNerd } from '../helpers/cli.js';
import { DATA } from '../helpers/data.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nerd-eval-'));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

async function expectInputError(args: string[], where: RegExp | string, what: RegExp): Promise<void> {
  const r = await runNerd(['eval', ...args]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  if (typeof where === 'string') expect(line.startsWith(`nerd: ${where}: `), line).toBe(true);
  else expect(line).toMatch(where);
  expect(line).toMatch(what);
}

describe('nerd eval: malformed input', () => {
  it('a line whose field count differs from the first line', async () => {
    const f = write('count.txt', 'a NN B-PER B-PER\nb NN I-PER I-PER\nc I-PER I-PER\n');
    await expectInputError(['--conlleval', f], `${f}:3`, /expected 4 fields \(as on line 1\) but found 3/);
  });

  it('a line with a single field', async () => {
    const f = write('one.txt', 'B-PER\n');
    await expectInputError(['--conlleval', f], `${f}:1`, /at least 2 fields/);
  });

  it('a -X- boundary line with the wrong number of fields (conlleval refuses it too)', async () => {
    const f = write('x.txt', 'a B-PER B-PER\n-X-\nb O O\n');
    await expectInputError(['--conlleval', f], `${f}:2`, /expected 3 fields/);
  });

  it('a tab-separated file read with the default space delimiter', async () => {
    const f = write('tab.txt', 'a\tB-PER\tB-PER\nb c\tO\tO\n');
    await expectInputError(['--conlleval', f], `${f}:1`, /at least 2 fields.*use --delimiter '\\t'/);
    const r = await runNerd(['eval', '--conlleval', f, '--delimiter', '\t', '--json']);
    expect(r.code).toBe(0); // with the tab delimiter "b c" is one token
    expect(JSON.parse(r.stdout)).toMatchObject({ tokens: 2, gold: 1, correct: 1 });
  });

  it('a missing file', async () => {
    const f = path.join(dir, 'nope.txt');
    await expectInputError(['--conlleval', f], `${f}`, /no such file/);
  });

  it('an invalid --delimiter regular expression', async () => {
    const f = write('ok.txt', 'a B-PER B-PER\n');
    await expectInputError(['--conlleval', f, '--delimiter', '('], /^nerd: /, /not a valid regular expression/);
  });

  it('a tag outside the scheme in --mode strict names the line', async () => {
    const f = write('strict.txt', 'a B-PER B-PER\nb E-PER I-PER\n');
    await expectInputError(
      ['--conlleval', f, '--mode', 'strict'],
      `${f}:2`,
      /"E-PER" is not valid in the iob2 scheme.*\(gold tag\)/,
    );
  });

  it('an unknown --mode or --scheme', async () => {
    const f = write('ok2.txt', 'a B-PER B-PER\n');
    await expectInputError(
      ['--conlleval', f, '--mode', 'lenient'],
      /^nerd: /,
      /--mode must be one of conlleval, strict/,
    );
    await expectInputError(
      ['--conlleval', f, '--mode', 'strict', '--scheme', 'bilou'],
      /^nerd: /,
      /--scheme must be one of/,
    );
  });

  it('nothing to score, or both kinds of input', async () => {
    await expectInputError([], /^nerd: /, /nothing to score/);
    await expectInputError(['--gold', 'g.txt'], /^nerd: /, /nothing to score/);
    const f = write('ok3.txt', 'a B-PER B-PER\n');
    await expectInputError(['--conlleval', f, '--gold', f, '--pred', f], /^nerd: /, /not both/);
  });

  const gold = 'EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\ncall NN O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n\n';

  it('--gold/--pred with different sentence counts', async () => {
    const g = write('g1.txt', gold);
    const p = write('p1.txt', gold + 'Extra NN O\n\n');
    await expectInputError(
      ['--gold', g, '--pred', p],
      `${p}:9`,
      /the prediction has 3 sentences but the gold corpus .* has 2/,
    );
  });

  it('--gold/--pred with a token that differs', async () => {
    const g = write('g2.txt', gold);
    const p = write('p2.txt', gold.replace('Blackburn', 'Blackbum'));
    await expectInputError(['--gold', g, '--pred', p], `${p}:7`, /token 2 is "Blackbum" here but "Blackburn" in gold/);
  });

  it('--gold/--pred with a sentence of another length', async () => {
    const g = write('g3.txt', gold);
    const p = write('p3.txt', gold.replace('call NN O\n', ''));
    await expectInputError(['--gold', g, '--pred', p], `${p}:1`, /has 3 tokens here but 4 in gold/);
  });

  it('--gold/--pred with a malformed prediction file (the corpus reader names the line)', async () => {
    const g = write('g4.txt', gold);
    const p = write('p4.txt', gold.replace('rejects VBZ O', 'rejects VBZ'));
    const r = await runNerd(['eval', '--gold', g, '--pred', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^nerd: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2`));
  });

  it('exits with code 2 and one stderr line as a real process', async () => {
    const f = write('proc.txt', 'a B-PER B-PER\nb B-PER\n');
    const r = await runCli(['eval', '--conlleval', f]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`nerd: ${f}:2: expected 3 fields (as on line 1) but found 2: "b B-PER"\n`);
  });
});

describe('nerd eval --gold/--pred', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/conlleval-expected.json', import.meta.url), 'utf8')) as {
    cases: Array<
      Parameters<typeof buildConllevalInput>[0] & {
        expected: {
          tokens: number;
          correctTags: number;
          gold: number;
          found: number;
          correct: number;
          types: Record<string, unknown>;
        };
      }
    >;
  };

  /** The gold and predicted columns of a fixture case as two CoNLL files. */
  function split(name: string): { gold: string; pred: string; expected: (typeof fixture.cases)[number]['expected'] } {
    const c = fixture.cases.find((x) => x.name === name)!;
    const text = buildConllevalInput(c, readFileSync(path.join(DATA, c.source), 'utf8'));
    const g: string[] = [];
    const p: string[] = [];
    for (const line of text.split('\n')) {
      const f = line.split(' ');
      if (line === '') {
        g.push('');
        p.push('');
      } else {
        g.push(f.slice(0, -1).join(' '));
        p.push([...f.slice(0, -2), f[f.length - 1]].join(' '));
      }
    }
    return { gold: g.join('\n'), pred: p.join('\n'), expected: c.expected };
  }

  const entityCounts = (j: {
    gold: number;
    found: number;
    correct: number;
    types: Record<string, { gold: number; found: number; correct: number }>;
  }) => ({
    gold: j.gold,
    found: j.found,
    correct: j.correct,
    types: Object.fromEntries(
      Object.entries(j.types).map(([k, t]) => [k, { gold: t.gold, found: t.found, correct: t.correct }]),
    ),
  });

  for (const name of [
    'conll2003/test.txt:shift',
    'conll2003/dev.txt:b-to-i',
    'conll2003/dev.txt:i-after-o',
    'conll2003-iob1/eng.testb:shift',
  ]) {
    it(`gives conlleval's entity counts: ${name}`, async () => {
      const { gold, pred, expected } = split(name);
      const g = write('gold.conll', gold);
      const p = write('pred.conll', pred);
      const r = await runNerd(['eval', '--gold', g, '--pred', p, '--json', '--count-docstart']);
      expect(r.code, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout);
      expect(entityCounts(got)).toEqual(entityCounts(expected as never));
      expect(got.tokens).toBe(expected.tokens);
      // same scheme on both sides and valid tags: conlleval's token accuracy too
      if (name === 'conll2003/test.txt:shift') expect(got.accuracy).toBe(expected.correctTags / expected.tokens);
    });
  }

  it('scores a JSONL prediction against a CoNLL gold file the same way', async () => {
    const { gold, pred } = split('conll2003/test.txt:shift');
    const g = write('gold2.conll', gold);
    const conllPred = write('pred2.conll', pred);
    const jsonlPred = write(
      'pred2.jsonl',
      formatCorpus(parseCorpus(pred, 'pred2.conll').corpus, { format: 'tokens-jsonl' }),
    );
    const a = await runNerd(['eval', '--gold', g, '--pred', conllPred, '--json']);
    const b = await runNerd(['eval', '--gold', g, '--pred', jsonlPred, '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
  });

  it('--mode strict reads the tags as written (CoNLL and token JSONL) and equals strict mode on the pasted columns', async () => {
    const name = 'conll2003/dev.txt:i-after-o';
    const { gold, pred } = split(name);
    const g = write('gold-s.conll', gold);
    const p = write('pred-s.conll', pred);
    const c = fixture.cases.find((x) => x.name === name)!;
    const pasted = write('pasted-s.txt', buildConllevalInput(c, readFileSync(path.join(DATA, c.source), 'utf8')));
    const fromFiles = await runNerd(['eval', '--gold', g, '--pred', p, '--mode', 'strict', '--json']);
    const fromPaste = await runNerd(['eval', '--conlleval', pasted, '--mode', 'strict', '--json']);
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    const a = JSON.parse(fromFiles.stdout);
    expect(a).toEqual(JSON.parse(fromPaste.stdout));
    // strict mode drops the entities that start with I- after O: fewer found than conlleval's
    expect(a.found).toBeLessThan(c.expected.found);

    const records = pred
      .split('\n\n')
      .filter((b) => b.trim() !== '')
      .map((b) => {
        const rows = b
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split(' '));
        return JSON.stringify({ tokens: rows.map((r) => r[0]), tags: rows.map((r) => r[r.length - 1]) });
      });
    const pj = write('pred-s.jsonl', records.join('\n') + '\n');
    const fromJsonl = await runNerd(['eval', '--gold', g, '--pred', pj, '--mode', 'strict', '--json']);
    expect(fromJsonl.code, fromJsonl.stderr).toBe(0);
    expect(JSON.parse(fromJsonl.stdout)).toEqual(a);
  });

  it("measures token accuracy in the gold file's scheme, as conlleval compares tags as written (IOB1)", async () => {
    const g = write('g6.txt', 'Peter NNP I-PER\nMary NNP I-PER\nJohn NNP B-PER\nsang VBD O\n\n');
    const p = write('p6.txt', 'Peter NNP I-PER\nMary NNP O\nJohn NNP I-PER\nsang VBD O\n\n');
    const r = await runNerd(['eval', '--gold', g, '--pred', p, '--json']);
    expect(r.code, r.stderr).toBe(0);
    // conlleval on the pasted columns: gold chunks [Peter Mary] [John], found [Peter] [John]; accuracy 2/4
    expect(JSON.parse(r.stdout)).toMatchObject({ tokens: 4, accuracy: 0.5, gold: 2, found: 2, correct: 1 });
  });

  it("prints conlleval's report layout", async () => {
    const g = write('g5.txt', 'EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\n\n');
    const p = write('p5.txt', 'EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-PER\n\n');
    const r = await runNerd(['eval', '--gold', g, '--pred', p]);
    expect(r.stdout).toBe(
      'processed 3 tokens with 2 phrases; found: 2 phrases; correct: 1.\n' +
        'accuracy:  66.67%; precision:  50.00%; recall:  50.00%; FB1:  50.00\n' +
        '             MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n' +
        '              ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n' +
        '              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n',
    );
  });
});
