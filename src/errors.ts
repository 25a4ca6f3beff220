/**
 * An error in user input: names the file, the line (1-based) and, where known, the column, so a user can
 * fix it. The CLI prints `file:line[:column]: message` on one line and exits with code 2.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'InputError';
  }

  /** one-line form: `file:line:column: message` */
  format(): string {
    const where = [this.file, this.line, this.column].filter((x) => x !== undefined && x !== '').join(':');
    return where ? `${where}: ${this.message}` : this.message;
  }
}
