/**
 * A TCP connect from inside a network namespace (`ip netns exec NS nc -z ADDR PORT`, without a process): the
 * socket is made with the main thread inside the namespace, connect(2) then runs from anywhere.
 */
import net from 'node:net';
import * as sys from '../sys/libc.js';
import { inNetns } from './thread.js';

const SOCK_STREAM = 1;

/**
 * One TCP connect from inside the namespace `fd` to `address`:`port`: resolves with undefined when accepted (the
 * connection is closed at once, nothing is sent), or the error code (`ECONNREFUSED`, `ETIMEDOUT`...).
 */
export function connectOnce(
  fd: number,
  address: string,
  port: number,
  timeoutMs: number,
): Promise<string | undefined> {
  // A socket belongs to the namespace it was created in, whatever thread uses it afterwards.
  const family = address.includes(':') ? sys.AF_INET6 : sys.AF_INET;
  const s = inNetns(fd, () => sys.socket(family, SOCK_STREAM | sys.SOCK_NONBLOCK, 0));
  const sock = new net.Socket({ fd: s });
  return new Promise((resolve) => {
    const done = (code: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    sock.connect(port, address, () => done(undefined));
  });
}
