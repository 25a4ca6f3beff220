/**
 * `nerd convert` and `nerd stats` through the real CLI: a spawned `node --import tsx src/cli.ts`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { dataPath } from './shared-data.js';

function nerd(...args: string[]): Promise<CliResult> {
  return nerdWithInput(undefined, ...args);
}

function nerdWithInput(input: string | undefined, ...args: string[]): Promise<CliResult> {
  return runCli(args, { input: input ?? '' });
}

let dir = '';
const tmp = (name: string) => path.join(dir, name);
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nerd-corpus-cli-'));
});

describe('nerd stats', () => {
  it('prints the CoNLL-2003 train counts', async () => {
    const r = await nerd('stats', dataPath('conll2003/train.txt'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sentences\s+14,041\n/);
    expect(r.stdout).toMatch(/tokens\s+203,621\n/);
    expect(r.stdout).toMatch(/entities\s+23,499\n/);
    for (const [type, n] of [
      ['LOC', '7,140'],
      ['MISC', '3,438'],
      ['ORG', '6,321'],
      ['PER', '6,600'],
    ]) {
      expect(r.stdout).toMatch(new RegExp(`\\n  ${type}\\s+${n} `));
    }
    expect(r.stdout).toMatch(/sentence length \(tokens\): min 1, median 10, mean 14\.5, max 113/);
  });
  it('prints JSON with --json', async () => {
    const r = await nerd('stats', dataPath('wnut17/emerging.dev.conll'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.format, j.scheme, j.sentences, j.tokens, j.entities, j.repairs]).toEqual([
      'conll',
      'iob2',
      1009,
      15733,
      836,
      0,
    ]);
    expect(Object.values(j.types as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(836);
    expect(j.lengthHistogram.reduce((a: number, b: { count: number }) => a + b.count, 0)).toBe(1009);
  });
});

describe('nerd convert', () => {
  it('CoNLL -> JSONL -> CoNLL gives back the same file', async () => {
    const src = dataPath('conll2003/dev.txt');
    const a = await nerd('convert', src, tmp('dev.jsonl'));
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/wrote .*dev\.jsonl: 3,250 sentences, 5,942 entities \(tokens-jsonl, IOB2\)/);
    const b = await nerd('convert', tmp('dev.jsonl'), tmp('dev.conll'));
    expect(b.code).toBe(0);
    expect(readFileSync(tmp('dev.conll'), 'utf8') === readFileSync(src, 'utf8')).toBe(true);
  });
  it('IOB1 -> IOB2 -> BIOES -> IOB1 gives back the same file, and character JSONL on request', async () => {
    const src = dataPath('conll2003-iob1/eng.testb');
    expect((await nerd('convert', src, tmp('b.iob2'), '--to', 'conll', '--scheme', 'bio')).code).toBe(0);
    expect(readFileSync(tmp('b.iob2'), 'utf8').split('\n')[2]).toBe('JAPAN NNP I-NP B-LOC');
    expect((await nerd('convert', tmp('b.iob2'), tmp('b.bioes'), '--to', 'conll', '--scheme', 'iobes')).code).toBe(0);
    expect(readFileSync(tmp('b.bioes'), 'utf8').split('\n')[2]).toBe('JAPAN NNP I-NP S-LOC');
    expect((await nerd('convert', tmp('b.bioes'), tmp('b.iob1'), '--to', 'conll', '--scheme', 'iob1')).code).toBe(0);
    expect(readFileSync(tmp('b.iob1'), 'utf8') === readFileSync(src, 'utf8')).toBe(true);
    const c = await nerd('convert', src, '-', '--to', 'jsonl');
    expect(c.code).toBe(0);
    const first = JSON.parse(c.stdout.split('\n')[0]!);
    expect(first.text).toBe('SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .');
    expect(first.entities).toEqual([
      { start: 9, end: 14, label: 'LOC' },
      { start: 31, end: 36, label: 'PER' },
    ]);
    expect(first.columns[0][0]).toBe('NN');
    expect(c.stdout.split('\n').filter((l) => l.includes('"docStart":true'))).toHaveLength(230);
  });
  it('reads standard input and writes standard output with "-"', async () => {
    const r = await nerdWithInput('a B-X\nb O\n\n', 'convert', '-', '-', '--to', 'tokens-jsonl', '--scheme', 'bioes');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"tokens":["a","b"],"tags":["S-X","O"]}\n');
    expect(r.stderr).toBe('nerd: wrote standard output: 1 sentence, 1 entity (tokens-jsonl, BIOES)\n');
  });
  it('repairs leniently with a count on stderr, and refuses in --strict mode', async () => {
    writeFileSync(tmp('repair.conll'), 'a B-X\nb O\nc I-X\n\nd B-Y\n\ne B-Z\n\n');
    const lenient = await nerd('convert', tmp('repair.conll'), tmp('repair.out'), '--to', 'conll');
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toContain('nerd: repaired 1 problem (use --strict to refuse them instead):\n');
    expect(lenient.stderr).toContain(`${tmp('repair.conll')}:3:3: tag I-X after O is not valid IOB2; read as B-X`);
    expect(readFileSync(tmp('repair.out'), 'utf8')).toBe('a B-X\nb O\nc B-X\n\nd B-Y\n\ne B-Z\n\n');
    const strict = await nerd('convert', tmp('repair.conll'), tmp('repair2.out'), '--strict');
    expect(strict.code).toBe(2);
    expect(strict.stderr).toBe(
      `nerd: ${tmp('repair.conll')}:3:3: tag I-X after O is not valid IOB2; read as B-X (refused in strict mode)\n`,
    );
  });
});

describe('malformed input: one line naming file:line, exit code 2', () => {
  const J = (...records: unknown[]) =>
    records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  const cases: Array<{ kind: string; file: string; text: string; line: number; args?: string[]; message: RegExp }> = [
    { kind: 'bad tag', file: 'badtag.conll', text: 'a O\nb B_PER\n', line: 2, message: /bad tag "B_PER"/ },
    {
      kind: 'column count changes inside a sentence',
      file: 'cols.conll',
      text: 'a NN O\nb O\n',
      line: 2,
      message: /2 columns but the sentence that starts on line 1 has 3/,
    },
    { kind: 'empty token', file: 'empty.conll', text: 'a O\n\n\tO\n', line: 3, message: /empty token/ },
    { kind: 'missing tag column', file: 'notag.conll', text: 'a O\nb\n', line: 2, message: /found one column/ },
    {
      kind: 'BIOES tag in IOB2',
      file: 'scheme.conll',
      text: 'a B-X\nb E-X\n',
      line: 2,
      args: ['--input-scheme', 'iob2'],
      message: /E- is a BIOES tag/,
    },
    {
      kind: 'tag column out of range',
      file: 'tagcol.conll',
      text: 'a NN O\n',
      line: 1,
      args: ['--tag-column', '4'],
      message: /tag column 4 does not exist/,
    },
    { kind: 'bad JSON line', file: 'bad.jsonl', text: J({ text: 'a' }, '{"text": "b",'), line: 2, message: /bad JSON/ },
    {
      kind: 'missing field',
      file: 'missing.jsonl',
      text: J({ text: 'a' }, { txt: 'b' }),
      line: 2,
      message: /missing field "text"/,
    },
    {
      kind: 'tags/tokens length mismatch',
      file: 'len.jsonl',
      text: J({ tokens: ['a', 'b'], tags: ['O'] }),
      line: 1,
      message: /"tags" has 1 items but "tokens" has 2/,
    },
    {
      kind: 'span not on token boundaries',
      file: 'bound.jsonl',
      text: J({ text: 'x' }, { text: 'Googled it', entities: [{ start: 0, end: 6, label: 'ORG' }] }),
      line: 2,
      message: /not on a token boundary/,
    },
    {
      kind: 'span out of range',
      file: 'range.jsonl',
      text: J({ tokens: ['a'], entities: [{ start: 0, end: 3, label: 'X' }] }),
      line: 1,
      message: /not a non-empty range inside the sentence/,
    },
    {
      kind: 'overlapping entities',
      file: 'overlap.jsonl',
      text: J({
        text: 'New York City',
        entities: [
          [0, 8, 'LOC'],
          [4, 13, 'LOC'],
        ],
      }),
      line: 1,
      message: /entities overlap/,
    },
    {
      kind: 'integer tags',
      file: 'ints.jsonl',
      text: J({ tokens: ['a'], ner_tags: [0] }),
      line: 1,
      message: /must be a tag string/,
    },
    { kind: 'not UTF-8', file: 'latin1.conll', text: 'a O\n\nCaf\u00e9 B-LOC\n', line: 3, message: /not UTF-8/ },
    {
      kind: 'strict repair',
      file: 'strict.conll',
      text: 'a B-X\nb O\nc I-X\nd B-Y\n',
      line: 3,
      args: ['--strict'],
      message: /strict mode/,
    },
  ];
  it(`${cases.length} kinds: ${cases.map((c) => c.kind).join(', ')}`, async () => {
    const runs = await Promise.all(
      cases.map((c) => {
        writeFileSync(tmp(c.file), c.text, c.kind === 'not UTF-8' ? 'latin1' : 'utf8');
        return nerd('stats', tmp(c.file), ...(c.args ?? []));
      }),
    );
    runs.forEach((r, k) => {
      const c = cases[k]!;
      const where = `nerd: ${tmp(c.file)}:${c.line}`;
      expect({ kind: c.kind, code: r.code, stdout: r.stdout }).toEqual({ kind: c.kind, code: 2, stdout: '' });
      expect(
        r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1,
        `${c.kind}: one line, got ${JSON.stringify(r.stderr)}`,
      ).toBe(true);
      expect(r.stderr.startsWith(`${where}:`), `${c.kind}: ${r.stderr}`).toBe(true);
      expect(r.stderr, c.kind).toMatch(c.message);
    });
  });
  it('bad flags and missing files are one-line errors with exit code 2 too', async () => {
    const [scheme, format, missing, unwritable] = await Promise.all([
      nerd('convert', dataPath('conll2003/test.txt'), tmp('x.conll'), '--scheme', 'bilou'),
      nerd('convert', dataPath('conll2003/test.txt'), tmp('x.conll'), '--to', 'xml'),
      nerd('stats', tmp('no-such-file.conll')),
      nerd('convert', dataPath('ncbi_disease/devel.tsv'), tmp('no-such-dir/x.conll')),
    ]);
    expect([unwritable.code, unwritable.stderr]).toEqual([
      2,
      `nerd: ${tmp('no-such-dir/x.conll')}: cannot write: no such directory\n`,
    ]);
    expect([scheme.code, scheme.stderr]).toEqual([
      2,
      'nerd: --scheme: unknown tag scheme "bilou" (use iob1, iob2 (bio) or bioes (iobes))\n',
    ]);
    expect([format.code, format.stderr]).toEqual([
      2,
      'nerd: --to: unknown format "xml" (use conll, jsonl or tokens-jsonl)\n',
    ]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `nerd: ${tmp('no-such-file.conll')}: cannot read corpus: no such file\n`,
    ]);
  });
});
