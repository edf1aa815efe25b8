/**
 * Parsers of option values shared by the commands.
 */
import { InvalidArgumentError } from 'commander';

/** `--grace SECONDS`: a number of seconds, 0 or more. */
export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number of seconds (0 or more)');
  return n;
}
