/**
 * Reads conlleval's own input format: one token per line, fields separated by a delimiter (a regular expression,
 * default a single space), the last two fields the gold and the predicted tag; sentences separated by blank lines
 * or by lines whose first field is `-X-`.
 *
 * Followed to the letter (see conlleval.ts for the counting): fields are split as Perl's `split` splits them
 * (leading empty fields kept, trailing ones dropped, so a line of only delimiters is blank); the number of fields
 * is fixed by the first non-blank line (a `-X-` line included); a line with fewer than two fields is an error;
 * `-DOCSTART-` lines are ordinary tokens (conlleval counts them in "processed N tokens" and in the accuracy; they
 * carry O/O, so they never touch the entity counts); `--raw` prefixes every non-O tag with `B-`.
 *
 * Deliberate differences, on inputs where conlleval misbehaves rather than on valid ones: a UTF-8 byte order mark
 * at the start and a CR before each LF are removed (conlleval would glue them to the first token and the last
 * tag, giving types like "PER\r"); conlleval exits 1 on bad lines, we throw an InputError naming file:line.
 */
import { InputError } from '../errors.js';
import { ConllevalCounter, splitTag, type Counts } from './conlleval.js';

export interface ConllevalInputOptions {
  /** file name for messages */
  file?: string;
  /** field delimiter, a regular expression as in conlleval's `-d` (default: one space) */
  delimiter?: string;
  /** conlleval `-r`: tags carry no B-/I- prefix; every non-outside tag is a one-token chunk */
  raw?: boolean;
  /** conlleval `-o`: the outside tag in raw input (default `O`) */
  outsideTag?: string;
}

const BOUNDARY = '-X-';

/** One data row of a conlleval file (for callers that need the rows, e.g. strict mode). */
export interface ConllevalRow {
  /** 1-based line number */
  line: number;
  /** true for blank and `-X-` lines */
  boundary: boolean;
  gold: string;
  pred: string;
}

/** Splits like Perl's `split(/$delimiter/, $line)`: trailing empty fields removed, "" gives no field. */
function perlSplit(line: string, delimiter: string | RegExp): string[] {
  if (line === '') return [];
  const fields = line.split(delimiter);
  let n = fields.length;
  while (n > 0 && fields[n - 1] === '') n--;
  fields.length = n;
  return fields;
}

function compileDelimiter(delimiter: string | undefined, file?: string): string | RegExp {
  if (delimiter === undefined || delimiter === ' ') return ' ';
  try {
    return new RegExp(delimiter, 'u');
  } catch {
    try {
      return new RegExp(delimiter);
    } catch (err) {
      throw new InputError(`--delimiter ${JSON.stringify(delimiter)} is not a valid regular expression`, file);
    }
  }
}

/** Walks the rows of a conlleval file, validating as conlleval does. */
export function* conllevalRows(text: string, options: ConllevalInputOptions = {}): Generator<ConllevalRow> {
  const file = options.file;
  const delimiter = compileDelimiter(options.delimiter, file);
  const outside = options.outsideTag ?? 'O';
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let fieldCount = -1;
  let fieldCountLine = 0;
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const fields = perlSplit(line, delimiter);
    const hint = delimiter === ' ' && line.includes('\t') ? " (the line has tabs: use --delimiter '\\t')" : '';
    if (fieldCount < 0) {
      if (fields.length > 0) {
        fieldCount = fields.length;
        fieldCountLine = lineNo;
      }
    } else if (fields.length !== fieldCount && fields.length !== 0) {
      throw new InputError(
        `expected ${fieldCount} fields (as on line ${fieldCountLine}) but found ${fields.length}: ${JSON.stringify(line)}${hint}`,
        file,
        lineNo,
      );
    }
    if (fields.length === 0 || fields[0] === BOUNDARY) {
      yield { line: lineNo, boundary: true, gold: 'O', pred: 'O' };
      continue;
    }
    if (fields.length < 2) {
      throw new InputError(
        `a line needs at least 2 fields (gold tag and predicted tag), found 1: ${JSON.stringify(line)}${hint}`,
        file,
        lineNo,
      );
    }
    let gold = fields[fields.length - 2]!;
    let pred = fields[fields.length - 1]!;
    if (options.raw) {
      if (pred === outside) pred = 'O';
      if (gold === outside) gold = 'O';
      if (pred !== 'O') pred = `B-${pred}`;
      if (gold !== 'O') gold = `B-${gold}`;
    }
    yield { line: lineNo, boundary: false, gold, pred };
  }
}

/** Counts a conlleval file exactly as conlleval.pl would. */
export function countConllevalText(text: string, options: ConllevalInputOptions = {}): Counts {
  const counter = new ConllevalCounter();
  for (const row of conllevalRows(text, options)) {
    if (row.boundary) counter.boundary();
    else counter.token(row.gold, row.pred);
  }
  return counter.finish();
}

/** Sentences of tag pairs, split at boundary rows (for strict mode). Lines are kept for error messages. */
export function conllevalSentences(
  text: string,
  options: ConllevalInputOptions = {},
): { gold: string[][]; pred: string[][]; lines: number[][] } {
  const gold: string[][] = [];
  const pred: string[][] = [];
  const lines: number[][] = [];
  let g: string[] = [];
  let p: string[] = [];
  let l: number[] = [];
  const flush = (): void => {
    if (g.length > 0) {
      gold.push(g);
      pred.push(p);
      lines.push(l);
      g = [];
      p = [];
      l = [];
    }
  };
  for (const row of conllevalRows(text, options)) {
    if (row.boundary) flush();
    else {
      g.push(row.gold);
      p.push(row.pred);
      l.push(row.line);
    }
  }
  flush();
  return { gold, pred, lines };
}

export { splitTag };
