import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { NslabError } from '../sys/errors.js';

/** The largest topology file nslab reads: a 50,000-node lab is about 6 MB. */
export const MAX_TOPOLOGY_BYTES = 64 * 1024 * 1024;

function unreadable(path: string, why: string, cause?: unknown): NslabError {
  return new NslabError(`cannot read topology file ${path}: ${why}`, 2, { cause });
}

/** What a file that is not a regular file is, for the sentence that refuses it. */
function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * The text of a topology file, read only when it is a regular file of at most `MAX_TOPOLOGY_BYTES`: the path is
 * stat(2)ed first, then opened with O_NONBLOCK (so a FIFO swapped in after the stat cannot block the open) and
 * checked again with fstat(2) on the open descriptor, which is the file actually read.
 * @throws NslabError (exit code 2) with one sentence: missing, unreadable, not a regular file, or too big.
 */
export async function readTopologyFile(path: string): Promise<string> {
  let before: Awaited<ReturnType<typeof stat>>;
  try {
    before = await stat(path);
  } catch (err) {
    throw unreadable(path, (err as Error).message, err);
  }
  if (!before.isFile()) throw unreadable(path, `it is ${kindOf(before)}, not a regular file`);
  const tooBig = (size: number) =>
    unreadable(
      path,
      `it has ${size} bytes, more than the ${MAX_TOPOLOGY_BYTES / 1024 / 1024} MB a topology file may have`,
    );
  if (before.size > MAX_TOPOLOGY_BYTES) throw tooBig(before.size);
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw unreadable(path, (err as Error).message, err);
  }
  try {
    const now = await file.stat();
    if (!now.isFile()) throw unreadable(path, `it is ${kindOf(now)}, not a regular file`);
    if (now.size > MAX_TOPOLOGY_BYTES) throw tooBig(now.size);
    // One byte more than fstat says: a file that grows while it is read is noticed, and memory stays bounded.
    const buffer = Buffer.allocUnsafe(now.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw unreadable(path, 'it grew while it was being read');
    }
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof NslabError) throw err;
    throw unreadable(path, (err as Error).message, err);
  } finally {
    await file.close();
  }
}
