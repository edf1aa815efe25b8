import { NslabError } from '../sys/errors.js';

/** Drawing the lab failed: Graphviz rejected the graph, or a converter is missing or failed. */
export class RenderError extends NslabError {
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, exitCode, options);
    this.name = 'RenderError';
  }
}
