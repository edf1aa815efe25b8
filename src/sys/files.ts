/**
 * Files nslab decides from (ledgers, records of private labs): read and written without following a symlink
 * (O_NOFOLLOW), with an explicit mode whatever the umask, and replaced atomically (a uniquely named temporary file
 * in the same directory, renamed over the file), so that a reader never sees half a file and a link planted under
 * the name never redirects a write.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { NslabError } from './errors.js';
import { randomHex } from './lazy.js';

const O_NOFOLLOW = constants.O_NOFOLLOW;

/** Reads a file without following a symlink; undefined when it does not exist. */
export function readFileNoFollow(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new NslabError(`${file} is a symlink: nslab does not follow links in its state`);
    throw new NslabError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new NslabError(`${file} is not a regular file`);
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces a file atomically: a temporary file with a unique name, created exclusively without following links
 * and with mode `mode` (fchmod: the umask does not matter), then renamed over the file.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.${randomHex(6)}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode);
    const data = Buffer.from(text);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}
