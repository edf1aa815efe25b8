import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { NslabError } from '../sys/errors.js';

/** The largest topology file nslab reads: a 50,000-node lab is about 6 MB. */
export const MAX_TOPOLOGY_BYTES = 64 * 1024 * 1024;

function unreadable(path: string, why: string, cause?: unknown): NslabError {
  return new NslabError(`cannot read topology file ${path}: ${why}`, 2, { cause });
}

/** What a file that is not a regular file is, for the sentence that refuses it. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'a device';
}

function checked(path: string, s: Stats): void {
  if (!s.isFile()) throw unreadable(path, `it is ${kindOf(s)}, not a regular file`);
  if (s.size > MAX_TOPOLOGY_BYTES) {
    const limit = MAX_TOPOLOGY_BYTES / 1024 / 1024;
    throw unreadable(path, `it has ${s.size} bytes, more than the ${limit} MB a topology file may have`);
  }
}

/**
 * The text of a topology file, read only when it is a regular file of at most `MAX_TOPOLOGY_BYTES`: the path is
 * stat(2)ed first, then opened with O_NONBLOCK (so a FIFO swapped in after the stat cannot block the open) and
 * checked again with fstat(2) on the open descriptor, which is the file actually read.
 *
 * Synchronous calls: a few system calls on a small file, where each asynchronous one would cross to libuv's
 * thread pool and back (20 ms on a cold start), and nslab may be switched into another namespace meanwhile.
 * @throws NslabError (exit code 2) with one sentence: missing, unreadable, not a regular file, or too big.
 */
export function readTopologyFileSync(path: string): string {
  let fd: number;
  try {
    checked(path, statSync(path));
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (err instanceof NslabError) throw err;
    throw unreadable(path, (err as Error).message, err);
  }
  try {
    const now = fstatSync(fd);
    checked(path, now);
    // One byte more than fstat says: a file that grows while it is read is noticed, and memory stays bounded.
    const buffer = Buffer.allocUnsafe(now.size + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) throw unreadable(path, 'it grew while it was being read');
    }
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof NslabError) throw err;
    throw unreadable(path, (err as Error).message, err);
  } finally {
    closeSync(fd);
  }
}
