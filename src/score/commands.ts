import { decodeUtf8, readTextAsync } from '../files.js';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { conllevalSentences, countConllevalText, type ConllevalInputOptions } from './conlleval-input.js';
import { formatConllevalReport, reportFromCounts, reportToJson, type Report, type ScoreMode } from './report.js';
import { strictCounts, type StrictScheme } from './strict.js';

interface EvalFlags {
  conlleval?: string;
  gold?: string;
  pred?: string;
  format?: string;
  tagColumn?: string;
  json?: boolean;
  delimiter?: string;
  raw?: boolean;
  outsideTag?: string;
  mode: string;
  scheme: string;
  countDocstart?: boolean;
  skipDocstart?: boolean;
}

const MODES: readonly ScoreMode[] = ['conlleval', 'strict'];
const STRICT_SCHEMES: readonly StrictScheme[] = ['iob2', 'bioes', 'iob1'];

/**
 * Reads a file ('-' = standard input) as UTF-8 text, strictly like every reader (files.ts): a missing file or
 * bytes that are not UTF-8 are an InputError naming it.
 */
export async function readText(file: string): Promise<string> {
  if (file !== '-') return readTextAsync(file);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return decodeUtf8(Buffer.concat(chunks), '<stdin>');
}

/** `nerd eval --conlleval FILE`: scores conlleval's own input. */
export async function evalConllevalFile(
  file: string,
  options: ConllevalInputOptions & { mode?: ScoreMode; scheme?: StrictScheme } = {},
): Promise<Report> {
  const text = await readText(file);
  const input = { ...options, file: file === '-' ? '<stdin>' : file };
  if ((options.mode ?? 'conlleval') === 'strict') {
    const { gold, pred, lines } = conllevalSentences(text, input);
    const counts = strictCounts(gold, pred, options.scheme ?? 'iob2', (side, s, t) => ({
      file: input.file,
      line: lines[s]![t],
      detail: `${side === 'gold' ? 'gold' : 'predicted'} tag`,
    }));
    return reportFromCounts(counts, 'strict');
  }
  return reportFromCounts(countConllevalText(text, input), 'conlleval');
}

function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  const v = value.toLowerCase() as T;
  if (!choices.includes(v))
    throw new InputError(`${flag} must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`);
  return v;
}

/** Registers this stage's `nerd` subcommands. */
export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'score predictions: entity precision/recall/F1 per type and token accuracy, exactly as the CoNLL conlleval script',
    )
    .option(
      '--conlleval <file>',
      "conlleval's own input ('-' = stdin): `token ... gold pred` per line, blank line between sentences",
    )
    .option('--gold <file>', 'gold corpus (CoNLL columns, JSONL with character spans, or token JSONL)')
    .option('--pred <file>', 'predicted corpus, same sentences and tokens as --gold')
    .option('--format <format>', 'format of --gold and --pred: conll, jsonl or tokens-jsonl (default: detected)')
    .option('--tag-column <n>', 'CoNLL tag column of --gold and --pred, 1-based, negative from the end (default -1)')
    .option('--json', 'print the scores as JSON (counts as integers, rates as fractions in [0, 1])')
    .option(
      '-d, --delimiter <regex>',
      "field delimiter of --conlleval input, a regular expression as conlleval's -d (default: one space)",
    )
    .option(
      '-r, --raw',
      "--conlleval tags have no B-/I- prefix (conlleval's -r): each non-outside tag is a one-token entity",
    )
    .option('-o, --outside-tag <tag>', "outside tag of --raw input (conlleval's -o)", 'O')
    .option('--mode <mode>', 'conlleval, or strict (seqeval strict mode on the tags as written)', 'conlleval')
    .option('--scheme <scheme>', 'tag scheme for --mode strict: iob2, bioes or iob1', 'iob2')
    .option('--count-docstart', 'with --gold/--pred: count -DOCSTART- lines as tokens, as conlleval does')
    .option('--skip-docstart', 'with --conlleval: ignore -DOCSTART- lines (conlleval counts them as tokens)')
    .addHelpText(
      'after',
      `
Examples:
  nerd eval --conlleval output.txt                 conlleval's report, byte for byte
  nerd eval --conlleval output.txt --json          {"tokens","accuracy","gold","found","correct","precision","recall","f1","types":{...}}
  nerd eval --gold test.txt --pred predicted.jsonl --json
  nerd eval --conlleval output.txt --mode strict --scheme bioes`,
    )
    .action(async (flags: EvalFlags) => {
      const mode = parseChoice('--mode', flags.mode, MODES);
      const scheme = parseChoice('--scheme', flags.scheme, STRICT_SCHEMES);
      let report: Report;
      if (flags.conlleval !== undefined) {
        if (flags.gold !== undefined || flags.pred !== undefined) {
          throw new InputError('give either --conlleval FILE or --gold G --pred P, not both');
        }
        report = await evalConllevalFile(flags.conlleval, {
          delimiter: flags.delimiter,
          raw: flags.raw,
          outsideTag: flags.outsideTag,
          skipDocStart: flags.skipDocstart,
          mode,
          scheme,
        });
      } else {
        if (flags.gold === undefined || flags.pred === undefined) {
          throw new InputError(
            'nothing to score: give --conlleval FILE, or --gold G and --pred P (see nerd eval --help)',
          );
        }
        const { evalCorpusFiles } = await import('./corpus-files.js');
        report = await evalCorpusFiles(flags.gold, flags.pred, {
          format: flags.format,
          tagColumn: flags.tagColumn,
          countDocStarts: flags.countDocstart,
          mode,
          scheme,
        });
      }
      process.stdout.write(flags.json ? `${JSON.stringify(reportToJson(report))}\n` : formatConllevalReport(report));
    });
}
