/**
 * The two printf conversions conlleval's report uses (`%6.2f` and `%17s`), reproduced byte for byte.
 *
 * Why hand-written: JavaScript's `toFixed` rounds exact binary ties upwards (50.625 -> "50.63") while Perl's
 * printf (C's) rounds them to even (-> "50.62"), and Perl pads strings by bytes, not characters.
 * No npm printf library promises C's tie rule, so the ten lines live here.
 */

/** `%.{digits}f` as C/Perl print it: the exact binary value rounded to nearest, exact ties to even. */
export function fixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const rounded = x.toFixed(digits); // nearest; on an exact tie toFixed takes the larger magnitude
  // toFixed(100) is the exact decimal expansion of any double we format (|x| >= 2^-47 or 0).
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(rest)) return rounded; // not a tie
  const truncated = exact.slice(0, digits === 0 ? dot : dot + 1 + digits);
  const lastDigit = Number(truncated[truncated.length - 1]);
  if (lastDigit % 2 !== 0) return rounded; // rounding away from zero lands on the even digit
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  return sign + truncated;
}

/** `%{width}.{digits}f` */
export function fixedWidth(x: number, width: number, digits: number): string {
  return fixed(x, digits).padStart(width, ' ');
}

/** `%{width}s` with Perl's byte semantics: the string is right-aligned in `width` bytes of UTF-8. */
export function rightAlignBytes(s: string, width: number): string {
  const bytes = Buffer.byteLength(s, 'utf8');
  return bytes >= width ? s : ' '.repeat(width - bytes) + s;
}

/** Perl's default `sort` (string `cmp`) on byte strings: compares the UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
