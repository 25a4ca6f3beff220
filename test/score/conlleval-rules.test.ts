/**
 * conlleval's rules on small hand-made inputs. Each expected report below is what conlleval.pl 2004-01-26 printed
 * for the same input (run by hand; see scripts/conlleval-reference.md), and each follows from its rules as noted.
 */
import { describe, expect, it } from 'vitest';
import {
  countConllevalText,
  formatConllevalReport,
  reportFromCounts,
  scoreTagSequences,
} from '../../src/score/index.js';
import { splitTag } from '../../src/corpus/index.js';
import { fixed } from '../../src/score/printf.js';

const report = (text: string, opts = {}) => formatConllevalReport(countConllevalText(text, opts));

describe('conlleval rules', () => {
  it('merges BIOES S-X S-X and B-X E-X B-X E-X into one chunk each, as conlleval does', () => {
    const text = 'a S-PER S-PER\nb S-PER S-PER\n\nc B-LOC B-LOC\nd E-LOC E-LOC\ne B-LOC S-LOC\nf E-LOC O\n';
    expect(report(text)).toBe(
      'processed 6 tokens with 2 phrases; found: 2 phrases; correct: 1.\n' +
        'accuracy:  66.67%; precision:  50.00%; recall:  50.00%; FB1:  50.00\n' +
        '              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n' +
        '              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n',
    );
  });

  it('reads typeless tags, I-0 and B- as the empty type and lists it twice when both columns have it', () => {
    expect(splitTag('I-0')).toEqual(['I', '']);
    expect(splitTag('B-PER-X')).toEqual(['B', 'PER-X']);
    expect(splitTag('O')).toEqual(['O', '']);
    expect(report('a B O\nb I-0 B\n\nc B B-\n')).toBe(
      'processed 3 tokens with 2 phrases; found: 2 phrases; correct: 1.\n' +
        'accuracy:  33.33%; precision:  50.00%; recall:  50.00%; FB1:  50.00\n' +
        '                 : precision:  50.00%; recall:  50.00%; FB1:  50.00  2\n' +
        '                 : precision:  50.00%; recall:  50.00%; FB1:  50.00  2\n',
    );
  });

  it('starts a chunk at I- after O and at a type change; B- after I- splits (IOB1)', () => {
    const text = 'a I-PER B-PER\nb I-PER I-PER\nc B-PER I-PER\nd O O\ne I-ORG I-LOC\n';
    expect(report(text)).toBe(
      'processed 5 tokens with 3 phrases; found: 2 phrases; correct: 0.\n' +
        'accuracy:  40.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n' +
        '              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n' +
        '              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n' +
        '              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n',
    );
  });

  it('accepts two-field lines and reports precision 0 when nothing is found', () => {
    expect(report('x y\n')).toBe(
      'processed 1 tokens with 0 phrases; found: 0 phrases; correct: 0.\n' +
        'accuracy:   0.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n',
    );
    const r = reportFromCounts(countConllevalText('a B-PER O\n'));
    expect([r.found, r.precision, r.recall, r.f1, r.gold]).toEqual([0, 0, 0, 0, 1]);
  });

  it('prints only the first line for an empty input', () => {
    expect(report('')).toBe('processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n');
  });

  it('treats -X- lines as boundaries and counts -DOCSTART- lines as tokens', () => {
    expect(report('a B-PER B-PER\n-X- -X- -X-\nb I-PER I-PER\n')).toBe(
      'processed 2 tokens with 2 phrases; found: 2 phrases; correct: 2.\n' +
        'accuracy: 100.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n' +
        '              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  2\n',
    );
    const c = countConllevalText('-DOCSTART- -X- O O\n\nJapan NNP B-LOC B-LOC\n');
    expect([c.tokens, c.correctTags, c.gold, c.correct]).toEqual([2, 2, 1, 1]);
    // --skip-docstart: the corpus's own token count, entity counts unchanged
    const skipped = countConllevalText('-DOCSTART- -X- O O\n\nJapan NNP B-LOC B-LOC\n', { skipDocStart: true });
    expect([skipped.tokens, skipped.correctTags, skipped.gold, skipped.correct]).toEqual([1, 1, 1, 1]);
  });

  it('tolerates CRLF and a BOM (where conlleval would glue them to tags)', () => {
    const lf = countConllevalText('a B-PER B-PER\nb I-PER O\n\nc B-LOC B-LOC\n');
    const crlf = countConllevalText('\ufeffa B-PER B-PER\r\nb I-PER O\r\n\r\nc B-LOC B-LOC\r\n');
    expect(crlf).toEqual(lf);
  });

  it('splits on a single space like Perl: two spaces make an empty field', () => {
    // 4 fields on line 1, so line 2 with one space less is malformed
    expect(() => countConllevalText('a  B-PER B-PER\nb B-PER B-PER\n', { file: 'f' })).toThrow(/expected 4 fields/);
    // a line of spaces is blank
    expect(countConllevalText('a B-PER B-PER\n   \nb B-PER B-PER\n').gold).toBe(2);
  });

  it('splits the same on the fast path (one space) as with the equivalent regular expression', () => {
    const pieces = ['a', 'B-PER', 'I-PER', 'O', '', ' ', '-X-', 'I-LOC'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let k = 0; k < 300; k++) {
      const fields = 3 + rand(2);
      const lines: string[] = [];
      for (let l = 0; l < 20; l++) {
        const f = Array.from({ length: fields }, () => pieces[rand(pieces.length)]!);
        lines.push(rand(5) === 0 ? '' : f.join(' '));
      }
      const text = lines.join('\n');
      let fast: unknown;
      let slow: unknown;
      try {
        fast = countConllevalText(text);
      } catch (e) {
        fast = (e as Error).message;
      }
      try {
        slow = countConllevalText(text, { delimiter: '[ ]' });
      } catch (e) {
        slow = (e as Error).message;
      }
      expect(fast).toEqual(slow);
    }
  });

  it('prints percentages with C rounding (exact ties to even) and pads type names by UTF-8 bytes', () => {
    expect(fixed(50.625, 2)).toBe('50.62');
    expect(fixed(0.375, 2)).toBe('0.38');
    expect(fixed(2.5, 0)).toBe('2');
    expect(fixed(100, 2)).toBe('100.00');
    // 81 correct of 160 found: precision 50.625 exactly
    const lines: string[] = [];
    for (let i = 0; i < 160; i++) lines.push(`t${i} ${i < 81 ? 'B-X' : 'O'} B-X`, '');
    const out = report(lines.join('\n'));
    expect(out).toContain('precision:  50.62%');
    expect(report('a B-Ü B-Ü\n')).toContain('\n               Ü: precision');
  });

  it('scoreTagSequences equals conlleval on the same sentences written as a file', () => {
    const gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['I-ORG', 'I-ORG', 'B-ORG'], ['O']];
    const pred = [['B-PER', 'I-PER', 'O', 'B-ORG'], ['B-ORG', 'I-ORG', 'I-ORG'], ['B-MISC']];
    const text = gold.map((g, s) => g.map((t, i) => `w ${t} ${pred[s]![i]}`).join('\n') + '\n\n').join('');
    const r = scoreTagSequences(gold, pred);
    expect(r.counts).toEqual(countConllevalText(text));
    expect([r.tokens, r.gold, r.found, r.correct]).toEqual([8, 4, 4, 1]);
    expect(r.types.PER).toEqual({ gold: 1, found: 1, correct: 1, precision: 1, recall: 1, f1: 1 });
    expect(r.types.ORG).toMatchObject({ gold: 2, found: 2, correct: 0 });
    expect(r.accuracy).toBe(4 / 8);
  });

  it('raw mode (-r, -o) prefixes every non-outside tag with B-', () => {
    const c = countConllevalText('a PER PER\nb PER PER\nc OUT LOC\n', { raw: true, outsideTag: 'OUT' });
    expect([c.gold, c.found, c.correct, c.correctTags]).toEqual([2, 3, 2, 2]);
  });
});
