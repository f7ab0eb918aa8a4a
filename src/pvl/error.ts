/**
 * A label that cannot be read: what was expected, where (1-based line when the problem is in the text), and in which
 * file when known, so the message alone is enough to open the file at the right line.
 */
export class PvlError extends Error {
  /** the problem without the file and line prefix */
  readonly detail: string;

  constructor(detail: string, readonly line?: number, readonly source?: string) {
    super(`${source ? `${source}: ` : ""}${line !== undefined ? `PVL line ${line}: ` : ""}${detail}`);
    this.name = "PvlError";
    this.detail = detail;
  }

  /** The same error attributed to a file (the parser itself only sees text). */
  withSource(source: string): PvlError {
    if (this.source) return this;
    const e = new PvlError(this.detail, this.line, source);
    e.stack = this.stack;
    return e;
  }
}
