/**
 * The one parser of numeric command-line flags, for commander's `.option(flag, help, parser)`:
 * `numberFlag('--epochs', { int: true, min: 1 })` accepts "3" and refuses "", "3.5", "0" or "x" with one line,
 * e.g. `--epochs: expected an integer ≥ 1, got "0"` (an InputError: exit code 2).
 */
import { InputError } from './errors.js';

export interface NumberFlagOptions {
  /** integers only */
  int?: boolean;
  min?: number;
  max?: number;
}

export function numberFlag(flag: string, opts: NumberFlagOptions = {}): (value: string) => number {
  return (value: string): number => {
    const x = Number(value);
    const ok = value.trim() !== '' && Number.isFinite(x) && (!opts.int || Number.isInteger(x));
    if (!ok || (opts.min !== undefined && x < opts.min) || (opts.max !== undefined && x > opts.max)) {
      const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : '']
        .filter(Boolean)
        .join(' and ');
      throw new InputError(
        `${flag}: expected ${opts.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got "${value}"`,
      );
    }
    return x;
  };
}
