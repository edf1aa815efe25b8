/**
 * Base of every error nslab throws on purpose. The CLI prints `message` as a sentence (no stack trace) and exits
 * with `exitCode`: 1 for a failed operation or check, 2 for bad input.
 */
export class NslabError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NslabError';
    this.exitCode = exitCode;
  }
}
