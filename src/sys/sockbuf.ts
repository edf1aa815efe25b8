/**
 * Socket buffers as big as a burst needs: SO_RCVBUFFORCE/SO_SNDBUFFORCE go past net.core.rmem_max/wmem_max, but
 * need CAP_NET_ADMIN in the initial user namespace, which a private lab (a user namespace of its own) never has:
 * there the kernel answers EPERM, and the plain SO_RCVBUF/SO_SNDBUF, capped by those sysctls, is what is left.
 * Callers size their batches by what the kernel granted, read back with getsockopt(2).
 */
import * as sys from './libc.js';

/** What the kernel granted a socket, in bytes (as getsockopt reads it: twice what setsockopt asked for). */
export interface SocketBuffers {
  rcv: number;
  snd: number;
}

/**
 * Asks for `want.rcv`/`want.snd` bytes of buffer (`SO_RCVBUFFORCE`, falling back to `SO_RCVBUF` on EPERM; the
 * same for sending) and returns what the socket has now. A side left out is not changed.
 */
export function setSocketBuffers(fd: number, want: { rcv?: number; snd?: number }): SocketBuffers {
  if (want.rcv !== undefined) setOne(fd, sys.SO_RCVBUFFORCE, sys.SO_RCVBUF, want.rcv);
  if (want.snd !== undefined) setOne(fd, sys.SO_SNDBUFFORCE, sys.SO_SNDBUF, want.snd);
  return {
    rcv: sys.getsockoptInt(fd, sys.SOL_SOCKET, sys.SO_RCVBUF),
    snd: sys.getsockoptInt(fd, sys.SOL_SOCKET, sys.SO_SNDBUF),
  };
}

/** Whether the forcing options are refused here (remembered: the answer does not change in a process). */
let forceRefused = false;

function setOne(fd: number, force: number, plain: number, bytes: number): void {
  if (!forceRefused) {
    try {
      sys.setsockoptInt(fd, sys.SOL_SOCKET, force, bytes);
      return;
    } catch (e) {
      if (!(e instanceof sys.SysError) || e.code !== 'EPERM') throw e;
      forceRefused = true;
    }
  }
  sys.setsockoptInt(fd, sys.SOL_SOCKET, plain, bytes);
}
