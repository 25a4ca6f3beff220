/**
 * `nerd eval --gold G --pred P`: reads two corpus files with the corpus stage's readers (any supported format)
 * and scores one against the other.
 */
import { InputError } from '../errors.js';
import { parseFormat, readCorpus } from '../corpus/index.js';
import type { ReadOptions, Repair } from '../corpus/types.js';
import type { Report } from './report.js';
import { scoreCorpora } from './score.js';

export interface CorpusFileOptions {
  /** conll, jsonl or tokens-jsonl for both files (default: detected per file) */
  format?: string;
  /** CoNLL tag column, 1-based, negative from the end */
  tagColumn?: string | number;
  /** count -DOCSTART- lines as tokens, as conlleval does */
  countDocStarts?: boolean;
  /** where to tell about tags read the lenient way (default: stderr) */
  note?: (line: string) => void;
}

function readOptions(opts: CorpusFileOptions): ReadOptions {
  const out: ReadOptions = {};
  if (opts.format !== undefined) {
    const format = parseFormat(opts.format);
    if (!format) throw new InputError(`--format must be conll, jsonl or tokens-jsonl, not ${JSON.stringify(opts.format)}`);
    out.format = format;
  }
  if (opts.tagColumn !== undefined) {
    const c = Number(opts.tagColumn);
    if (!Number.isInteger(c) || c === 0) {
      throw new InputError(`--tag-column must be a non-zero integer (1-based, negative from the end), not ${JSON.stringify(opts.tagColumn)}`);
    }
    out.tagColumn = c;
  }
  return out;
}

function noteRepairs(file: string, repairs: Repair[], note: (line: string) => void): void {
  if (repairs.length === 0) return;
  const first = repairs[0]!;
  note(
    `nerd eval: ${file}: ${repairs.length} tag${repairs.length === 1 ? '' : 's'} outside the scheme read the conlleval way ` +
      `(first: ${first.file}:${first.line}: ${first.message})\n`,
  );
}

/** Reads and scores `predFile` against `goldFile`. */
export async function evalCorpusFiles(goldFile: string, predFile: string, opts: CorpusFileOptions = {}): Promise<Report> {
  const read = readOptions(opts);
  const note = opts.note ?? ((line: string) => void process.stderr.write(line));
  const gold = readCorpus(goldFile, read);
  const pred = readCorpus(predFile, read);
  noteRepairs(goldFile, gold.repairs, note);
  noteRepairs(predFile, pred.repairs, note);
  // token accuracy in the gold file's scheme, as conlleval compares the tags as written
  return scoreCorpora(gold.corpus, pred.corpus, { countDocStarts: opts.countDocStarts, accuracyScheme: gold.scheme });
}
