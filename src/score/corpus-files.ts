/**
 * `nerd eval --gold G --pred P`: reads two corpus files with the corpus stage's readers (any supported format)
 * and scores one against the other.
 */
import { InputError } from '../errors.js';
import { readText } from '../files.js';
import { parseCorpus, parseFormat } from '../corpus/index.js';
import type { ReadOptions, ReadResult, Repair } from '../corpus/types.js';
import { reportFromCounts, type Report } from './report.js';
import { scoreCorpora } from './score.js';
import { strictCounts, type StrictScheme } from './strict.js';
import { writtenTags } from './written-tags.js';

export interface CorpusFileOptions {
  /** conll, jsonl or tokens-jsonl for both files (default: detected per file) */
  format?: string;
  /** CoNLL tag column, 1-based, negative from the end */
  tagColumn?: string | number;
  /** count -DOCSTART- lines as tokens, as conlleval does */
  countDocStarts?: boolean;
  /** 'strict': seqeval strict mode on the tags as written, in `scheme` */
  mode?: 'conlleval' | 'strict';
  scheme?: StrictScheme;
  /** where to tell about tags read the lenient way (default: stderr) */
  note?: (line: string) => void;
}

function readOptions(opts: CorpusFileOptions): ReadOptions {
  const out: ReadOptions = {};
  if (opts.format !== undefined) {
    const format = parseFormat(opts.format);
    if (!format)
      throw new InputError(`--format must be conll, jsonl or tokens-jsonl, not ${JSON.stringify(opts.format)}`);
    out.format = format;
  }
  if (opts.tagColumn !== undefined) {
    const c = Number(opts.tagColumn);
    if (!Number.isInteger(c) || c === 0) {
      throw new InputError(
        `--tag-column must be a non-zero integer (1-based, negative from the end), not ${JSON.stringify(opts.tagColumn)}`,
      );
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
export async function evalCorpusFiles(
  goldFile: string,
  predFile: string,
  opts: CorpusFileOptions = {},
): Promise<Report> {
  const read = readOptions(opts);
  const note = opts.note ?? ((line: string) => void process.stderr.write(line));
  const goldText = readText(goldFile, 'corpus');
  const predText = readText(predFile, 'corpus');
  const gold: ReadResult = parseCorpus(goldText, goldFile, read);
  const pred: ReadResult = parseCorpus(predText, predFile, read);
  noteRepairs(goldFile, gold.repairs, note);
  noteRepairs(predFile, pred.repairs, note);
  // alignment checks and conlleval counts; token accuracy in the gold file's scheme, as conlleval compares the
  // tags as written
  const report = scoreCorpora(gold.corpus, pred.corpus, {
    countDocStarts: opts.countDocStarts,
    accuracyScheme: gold.scheme,
  });
  if (opts.mode !== 'strict') return report;
  const scheme = opts.scheme ?? 'iob2';
  const g = writtenTags(goldText, goldFile, gold, scheme, read.format);
  const p = writtenTags(predText, predFile, pred, scheme, read.format);
  const where = (side: 'gold' | 'pred', s: number, t: number) => {
    const r = side === 'gold' ? gold : pred;
    const line = r.corpus.sentences[s]?.line;
    return {
      file: side === 'gold' ? goldFile : predFile,
      line: line !== undefined && r.corpus.layout ? line + t : line,
      detail: `token ${t + 1} of sentence ${s + 1}`,
    };
  };
  return reportFromCounts(strictCounts(g, p, scheme, where), 'strict');
}
