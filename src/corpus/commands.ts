/** `nerd convert` and `nerd stats`: thin CLI calls into the corpus API. */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import {
  decodeUtf8,
  formatCorpus,
  formatFromExtension,
  isJsonExtension,
  parseCorpus,
  parseFormat,
  parseScheme,
  readCorpus,
  type CorpusFormat,
  type ReadOptions,
  type ReadResult,
  type Repair,
  type TagScheme,
} from './index.js';
import { corpusStats, formatStats, statsJson } from './stats.js';
import { loadTagNames } from './tag-names.js';
import { readFileSync } from 'node:fs';

interface ReadFlags {
  from?: string;
  tagNames?: string;
  inputScheme?: string;
  tagColumn?: string;
  strict?: boolean;
}

function formatOption(value: string | undefined, flag: string): CorpusFormat | undefined {
  if (value === undefined) return undefined;
  const f = parseFormat(value);
  if (!f) throw new InputError(`${flag}: unknown format "${value}" (use conll, jsonl or tokens-jsonl)`);
  return f;
}

function schemeOption(value: string | undefined, flag: string, allowAuto: boolean): TagScheme | 'auto' | undefined {
  if (value === undefined) return undefined;
  if (allowAuto && value.trim().toLowerCase() === 'auto') return 'auto';
  const s = parseScheme(value);
  if (!s)
    throw new InputError(
      `${flag}: unknown tag scheme "${value}" (use iob1, iob2 (bio) or bioes (iobes)${allowAuto ? ', or auto' : ''})`,
    );
  return s;
}

function readOptions(flags: ReadFlags): ReadOptions {
  const opts: ReadOptions = {};
  const format = formatOption(flags.from, '--from');
  if (format) opts.format = format;
  const scheme = schemeOption(flags.inputScheme, '--input-scheme', true);
  if (scheme) opts.scheme = scheme;
  if (flags.tagColumn !== undefined) {
    const n = Number(flags.tagColumn);
    if (!Number.isInteger(n) || n === 0) {
      throw new InputError(
        `--tag-column: expected a column number (1 is the first, -1 the last), got "${flags.tagColumn}"`,
      );
    }
    opts.tagColumn = n;
  }
  if (flags.strict) opts.strict = true;
  if (flags.tagNames !== undefined) opts.tagNames = loadTagNames(flags.tagNames);
  return opts;
}

/** Tells the user on stderr what a lenient read repaired. */
function reportRepairs(repairs: Repair[], shown = 5): void {
  if (repairs.length === 0) return;
  const lines = [
    `nerd: repaired ${repairs.length} problem${repairs.length === 1 ? '' : 's'} (use --strict to refuse them instead):`,
  ];
  for (const r of repairs.slice(0, shown)) {
    lines.push(`  ${[r.file, r.line, r.column].filter((x) => x !== undefined).join(':')}: ${r.message}`);
  }
  if (repairs.length > shown) lines.push(`  ... and ${repairs.length - shown} more`);
  process.stderr.write(lines.join('\n') + '\n');
}

function addReadFlags(cmd: Command): Command {
  return cmd
    .option('--from <format>', 'input format: conll, jsonl (character offsets) or tokens-jsonl (default: detected)')
    .option('--input-scheme <scheme>', 'tag scheme of the input: iob1, iob2, bioes or auto', 'auto')
    .option('--tag-column <n>', 'CoNLL tag column, 1-based; negative counts from the end', '-1')
    .option('--strict', 'refuse repairable problems (e.g. I- after O in IOB2) instead of repairing and counting them')
    .option(
      '--tag-names <names>',
      'token JSONL with integer tags (Hugging Face ner_tags): their names, comma-separated, or a file (JSON array, config.json id2label, dataset_info.json, one per line)',
    );
}

function outputFormat(
  out: string,
  to: CorpusFormat | undefined,
  input: ReadResult,
  inputFormat: CorpusFormat,
): CorpusFormat {
  if (to) return to;
  const byExt = formatFromExtension(out);
  if (byExt) return byExt;
  if (isJsonExtension(out)) {
    // character offsets when every sentence has its own text, else token JSONL
    return input.corpus.sentences.length > 0 && input.corpus.sentences.every((s) => s.text !== undefined)
      ? 'jsonl'
      : 'tokens-jsonl';
  }
  return inputFormat;
}

export function register(program: Command): void {
  addReadFlags(
    program
      .command('convert')
      .description('convert a corpus between CoNLL, character-offset JSONL and token JSONL, and between tag schemes')
      .argument('<in>', 'input corpus file ("-" for standard input)')
      .argument('<out>', 'output file ("-" for standard output)'),
  )
    .option(
      '--to <format>',
      "output format: conll, jsonl or tokens-jsonl (default: by the extension of OUT: .conll/.txt/.tsv/.iob/.bio → conll, .jsonl/.json → jsonl when the input has text, else tokens-jsonl; otherwise the input's format)",
    )
    .option('--scheme <scheme>', "tag scheme to write: iob1, iob2 (bio) or bioes (iobes) (default: the input's)")
    .option('--delimiter <d>', "CoNLL output field delimiter: space or tab (default: the input's, else space)")
    .option('--entities', 'tokens-jsonl output: write token-offset "entities" (with confidence) instead of "tags"')
    .action(
      (
        input: string,
        out: string,
        flags: ReadFlags & { to?: string; scheme?: string; delimiter?: string; entities?: boolean },
      ) => {
        const opts = readOptions(flags);
        const to = formatOption(flags.to, '--to');
        const scheme = schemeOption(flags.scheme, '--scheme', false) as TagScheme | undefined;
        let delimiter: ' ' | '\t' | undefined;
        if (flags.delimiter !== undefined) {
          const d = flags.delimiter.toLowerCase();
          if (d === 'space' || d === ' ') delimiter = ' ';
          else if (d === 'tab' || d === '\t' || d === '\\t') delimiter = '\t';
          else throw new InputError(`--delimiter: expected space or tab, got "${flags.delimiter}"`);
        }
        const result =
          input === '-'
            ? parseCorpus(decodeUtf8(readFileSync(0), '<stdin>'), '<stdin>', opts)
            : readCorpus(input, opts);
        reportRepairs(result.repairs);
        const inputFormat = result.format;
        const format = outputFormat(out, to, result, inputFormat);
        const outScheme = scheme ?? result.scheme;
        const text = formatCorpus(result.corpus, {
          format,
          scheme: outScheme,
          ...(delimiter ? { delimiter } : {}),
          ...(flags.entities ? { entities: true } : {}),
        });
        const confidences = result.corpus.sentences.reduce(
          (a, s) => a + s.spans.filter((x) => x.confidence !== undefined).length,
          0,
        );
        if (confidences > 0 && (format === 'conll' || (format === 'tokens-jsonl' && !flags.entities))) {
          process.stderr.write(
            `nerd: note: ${confidences.toLocaleString('en-US')} entity confidences are not written to ${format === 'conll' ? 'CoNLL' : 'tags'}${format === 'conll' ? '' : ' (use --entities to keep them)'}\n`,
          );
        }
        if (out === '-') process.stdout.write(text);
        else writeFileAtomic(out, text);
        const c = result.corpus.sentences;
        const entities = c.reduce((a, s) => a + s.spans.length, 0);
        const tagged = format !== 'jsonl' && !(format === 'tokens-jsonl' && flags.entities);
        process.stderr.write(
          `nerd: wrote ${out === '-' ? 'standard output' : out}: ${count(c.length, 'sentence')}, ${count(entities, 'entity', 'entities')} (${format}${tagged ? `, ${outScheme.toUpperCase()}` : ''})\n`,
        );
      },
    );

  addReadFlags(
    program
      .command('stats')
      .description('count sentences, tokens and entities per type; sentence and entity length histograms')
      .argument('<file>', 'corpus file (CoNLL, JSONL or token JSONL)'),
  )
    .option('--json', 'print the statistics as JSON')
    .action((file: string, flags: ReadFlags & { json?: boolean }) => {
      const opts = readOptions(flags);
      const result = readCorpus(file, opts);
      reportRepairs(result.repairs);
      const stats = corpusStats(result.corpus);
      const format = result.format;
      if (flags.json) {
        const json = {
          file,
          format,
          scheme: result.scheme,
          repairs: result.repairs.length,
          ...(statsJson(stats) as object),
        };
        process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      } else {
        const tagged = format !== 'jsonl';
        process.stdout.write(
          formatStats(stats, `${file} (${format}${tagged ? `, ${result.scheme.toUpperCase()}` : ''})`),
        );
      }
    });
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
