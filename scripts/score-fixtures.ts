/**
 * Regenerates test/score/fixtures/conlleval-expected.json: for every case in scripts/score-perturb.ts, builds the
 * conlleval input file, runs the REAL conlleval.pl on it (see scripts/conlleval-reference.md: the script is not
 * in this repository; put it at /tmp/conlleval/conlleval.pl or name it with CONLLEVAL_PL), and records its
 * report and its exact counts.
 *
 * conlleval prints only rounded per-type rates, so the exact per-type counts come from a copy of the script with
 * one added statement before its `exit 0;` that prints its own counters (%foundCorrect, %foundGuessed,
 * %correctChunk, $correctTags) to stderr; its logic is untouched, and the unmodified script's report is recorded
 * next to the counts (the test compares ours with it byte for byte).
 *
 *   npx tsx scripts/score-fixtures.ts [--data ../shared/data]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT as root, SHARED_DATA } from '../src/package-info.js';
import { allCases, buildConllevalInput, sha256 } from './score-perturb.js';

const dataArg = process.argv.indexOf('--data');
const data = dataArg > 0 ? process.argv[dataArg + 1]! : SHARED_DATA;
const script = process.env.CONLLEVAL_PL ?? '/tmp/conlleval/conlleval.pl';
const original = readFileSync(script, 'utf8');
if (!original.includes('# version:   2004-01-26')) throw new Error(`${script} is not conlleval.pl version 2004-01-26`);

const dump = [
  'print STDERR "NERD-COUNTS\\t$tokenCounter\\t$correctTags\\t$foundCorrect\\t$foundGuessed\\t$correctChunk\\n";',
  'foreach my $t (sort keys %{{%foundCorrect, %foundGuessed}}) {',
  '   printf STDERR "NERD-TYPE\\t%s\\t%d\\t%d\\t%d\\n", $t, $foundCorrect{$t}||0, $foundGuessed{$t}||0, $correctChunk{$t}||0;',
  '}',
].join('\n');
const at = original.indexOf('\nexit 0;');
if (at < 0) throw new Error('cannot find "exit 0;" in conlleval.pl');
const dir = mkdtempSync(path.join(tmpdir(), 'nerd-conlleval-'));
const instrumented = path.join(dir, 'conlleval-counts.pl');
writeFileSync(instrumented, original.slice(0, at) + '\n' + dump + original.slice(at));

const cases = [];
const sources = new Map<string, string>();
for (const spec of allCases()) {
  if (!sources.has(spec.source)) sources.set(spec.source, readFileSync(path.join(data, spec.source), 'utf8'));
  const input = buildConllevalInput(spec, sources.get(spec.source)!);
  const args = spec.args ?? [];
  const report = execFileSync('perl', [script, ...args], {
    input,
    maxBuffer: 1 << 26,
    stdio: ['pipe', 'pipe', 'ignore'],
  }).toString('utf8');
  const run = spawnSync('perl', [instrumented, ...args], { input, maxBuffer: 1 << 26 });
  const stderr = run.stderr.toString('utf8');
  const counts = stderr
    .split('\n')
    .find((l) => l.startsWith('NERD-COUNTS\t'))!
    .split('\t')
    .slice(1)
    .map(Number);
  const types: Record<string, { gold: number; found: number; correct: number }> = {};
  for (const l of stderr.split('\n').filter((l) => l.startsWith('NERD-TYPE\t'))) {
    const [, name, gold, found, correct] = l.split('\t');
    types[name!] = { gold: Number(gold), found: Number(found), correct: Number(correct) };
  }
  const [tokens, correctTags, gold, found, correct] = counts as [number, number, number, number, number];
  cases.push({
    ...spec,
    sha256: sha256(input),
    expected: { tokens, correctTags, gold, found, correct, types },
    report,
  });
  process.stderr.write(`${spec.name}: ${report.split('\n')[0]}\n`);
}
const out = path.join(root, 'test/score/fixtures/conlleval-expected.json');
writeFileSync(
  out,
  JSON.stringify(
    {
      about:
        'Counts and reports of the real conlleval.pl (version 2004-01-26) on the files scripts/score-perturb.ts builds. Regenerate with: npx tsx scripts/score-fixtures.ts',
      perl: execFileSync('perl', ['-e', 'print $^V']).toString(),
      cases,
    },
    null,
    1,
  ) + '\n',
);
process.stderr.write(`wrote ${cases.length} cases to ${path.relative(root, out)}\n`);
