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
import { splitTag } from '../corpus/tags.js';
import { ConllevalCounter, type Counts } from './conlleval.js';

export interface ConllevalInputOptions {
  /** file name for messages */
  file?: string;
  /** field delimiter, a regular expression as in conlleval's `-d` (default: one space) */
  delimiter?: string;
  /** conlleval `-r`: tags carry no B-/I- prefix; every non-outside tag is a one-token chunk */
  raw?: boolean;
  /** conlleval `-o`: the outside tag in raw input (default `O`) */
  outsideTag?: string;
  /**
   * Skip `-DOCSTART-` lines entirely. NOT conlleval's behaviour (it counts them as tokens, which changes
   * "processed N tokens" and the accuracy but no entity count while they are tagged O); for users who want the
   * token count of the corpus itself.
   */
  skipDocStart?: boolean;
}

const BOUNDARY = '-X-';
const DOCSTART = '-DOCSTART-';

/** One data row of a conlleval file (for callers that need the rows, e.g. strict mode). */
export interface ConllevalRow {
  /** 1-based line number */
  line: number;
  /** true for blank and `-X-` lines */
  boundary: boolean;
  gold: string;
  pred: string;
}

/**
 * Perl's `split(/$delimiter/, $line)` keeps leading empty fields and drops trailing ones ("" gives no field).
 * Returns the fields and how many of them count (the trailing empty ones are left in the array, uncounted).
 */
function perlSplit(line: string, delimiter: string | RegExp): [fields: string[], count: number] {
  if (line === '') return [[], 0];
  const fields = line.split(delimiter);
  let n = fields.length;
  while (n > 0 && fields[n - 1] === '') n--;
  return [fields, n];
}

function compileDelimiter(delimiter: string | undefined, file?: string): string | RegExp {
  if (delimiter === undefined || delimiter === ' ') return ' ';
  try {
    return new RegExp(delimiter, 'u');
  } catch {
    try {
      return new RegExp(delimiter);
    } catch {
      throw new InputError(`--delimiter ${JSON.stringify(delimiter)} is not a valid regular expression`, file);
    }
  }
}

/**
 * Walks the rows of a conlleval file, validating as conlleval does: `onToken(gold, pred, line)` for token rows,
 * `onBoundary(line)` for blank and `-X-` lines.
 */
export function forEachConllevalRow(
  text: string,
  options: ConllevalInputOptions,
  onToken: (gold: string, pred: string, line: number) => void,
  onBoundary: (line: number) => void,
): void {
  const file = options.file;
  const delimiter = compileDelimiter(options.delimiter, file);
  const outside = options.outsideTag ?? 'O';
  const raw = options.raw === true;
  const skipDocStart = options.skipDocStart === true;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let fieldCount = -1;
  let fieldCountLine = 0;
  let start = 0;
  let lineNo = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    const lineEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(start, lineEnd);
    start = end + 1;
    lineNo++;
    let count: number;
    let first: string;
    let gold: string;
    let pred: string;
    if (delimiter === ' ') {
      // fast path for the default delimiter, same fields as perlSplit(line, ' ')
      let e = line.length;
      while (e > 0 && line.charCodeAt(e - 1) === 32) e--;
      if (e === 0) {
        count = 0;
        first = gold = pred = '';
      } else {
        count = 1;
        for (let i = line.indexOf(' '); i >= 0 && i < e; i = line.indexOf(' ', i + 1)) count++;
        const sp1 = line.indexOf(' ');
        first = sp1 < 0 || sp1 >= e ? line.slice(0, e) : line.slice(0, sp1);
        const last = line.lastIndexOf(' ', e - 1);
        pred = line.slice(last + 1, e);
        gold = last > 0 ? line.slice(line.lastIndexOf(' ', last - 1) + 1, last) : '';
      }
    } else {
      const [fields, n] = perlSplit(line, delimiter);
      count = n;
      first = fields[0] ?? '';
      gold = fields[n - 2] ?? '';
      pred = fields[n - 1] ?? '';
    }
    if (fieldCount < 0) {
      if (count > 0) {
        fieldCount = count;
        fieldCountLine = lineNo;
      }
    } else if (count !== fieldCount && count !== 0) {
      throw new InputError(
        `expected ${fieldCount} fields (as on line ${fieldCountLine}) but found ${count}: ${JSON.stringify(line)}${tabHint(line, delimiter)}`,
        file,
        lineNo,
      );
    }
    if (count === 0 || first === BOUNDARY) {
      onBoundary(lineNo);
      continue;
    }
    if (skipDocStart && first === DOCSTART) continue;
    if (count < 2) {
      throw new InputError(
        `a line needs at least 2 fields (gold tag and predicted tag), found 1: ${JSON.stringify(line)}${tabHint(line, delimiter)}`,
        file,
        lineNo,
      );
    }
    if (raw) {
      if (pred === outside) pred = 'O';
      if (gold === outside) gold = 'O';
      if (pred !== 'O') pred = `B-${pred}`;
      if (gold !== 'O') gold = `B-${gold}`;
    }
    onToken(gold, pred, lineNo);
  }
}

function tabHint(line: string, delimiter: string | RegExp): string {
  return delimiter === ' ' && line.includes('\t') ? " (the line has tabs: use --delimiter '\\t')" : '';
}

/** The rows of a conlleval file, validated as conlleval does. */
export function conllevalRows(text: string, options: ConllevalInputOptions = {}): ConllevalRow[] {
  const rows: ConllevalRow[] = [];
  forEachConllevalRow(
    text,
    options,
    (gold, pred, line) => rows.push({ line, boundary: false, gold, pred }),
    (line) => rows.push({ line, boundary: true, gold: 'O', pred: 'O' }),
  );
  return rows;
}

/** Counts a conlleval file exactly as conlleval.pl would. */
export function countConllevalText(text: string, options: ConllevalInputOptions = {}): Counts {
  const counter = new ConllevalCounter();
  forEachConllevalRow(
    text,
    options,
    (gold, pred) => counter.token(gold, pred),
    () => counter.boundary(),
  );
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
  forEachConllevalRow(
    text,
    options,
    (gold, pred, line) => {
      g.push(gold);
      p.push(pred);
      l.push(line);
    },
    flush,
  );
  flush();
  return { gold, pred, lines };
}
