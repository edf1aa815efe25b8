/**
 * recvmsg(2) with ancillary data, beside libc.ts's simpler calls: a raw ICMPv6 socket returns only the ICMPv6
 * message, and the hop limit the reply arrived with (the `ttl=` ping prints) comes as an IPV6_HOPLIMIT control
 * message once IPV6_RECVHOPLIMIT is on. Bound through koffi like the rest of libc; the msghdr, iovec, source
 * address, control and data areas live in one block of native memory allocated once, so that nothing moves
 * while the kernel writes into it.
 */
import { constants as osConstants } from 'node:os';
import koffi from 'koffi';
import { libc, SysError } from './libc.js';

const recvmsgFn = libc.func('intptr_t recvmsg(int, void *, int)');

export const IPPROTO_IPV6 = 41;
/** setsockopt: deliver the hop limit of each received packet as a control message. */
export const IPV6_RECVHOPLIMIT = 51;
/** cmsg_type of that control message. */
export const IPV6_HOPLIMIT = 52;

// Layout of struct msghdr / iovec / cmsghdr on LP64 Linux (x86_64, aarch64).
const MSGHDR = 0; // 56 bytes
const IOVEC = 64; // 16 bytes
const NAME = 80; // sockaddr_storage, 128 bytes
const NAME_LEN = 128;
const CONTROL = 208;
const CONTROL_LEN = 256;
const DATA = 464;

export interface Received {
  /** The message (a view into the shared block, valid until the next call). */
  data: Buffer;
  /** The raw source sockaddr (same lifetime). */
  from: Buffer;
  /** IPV6_HOPLIMIT from the control messages, when present. */
  hopLimit?: number;
}

let block: { ptr: unknown; base: bigint; view: Buffer; dataLen: number } | undefined;

function area(dataLen: number) {
  if (block && block.dataLen >= dataLen) return block;
  if (block) koffi.free(block.ptr);
  const size = DATA + dataLen;
  const ptr = koffi.alloc('uint8_t', size);
  const base = koffi.address(ptr);
  const view = Buffer.from(koffi.view(ptr, size));
  view.fill(0);
  // iovec -> data area; msghdr -> name, iovec, control. Lengths are reset before each call.
  view.writeBigUInt64LE(base + BigInt(DATA), IOVEC);
  view.writeBigUInt64LE(BigInt(dataLen), IOVEC + 8);
  view.writeBigUInt64LE(base + BigInt(NAME), MSGHDR);
  view.writeBigUInt64LE(base + BigInt(IOVEC), MSGHDR + 16);
  view.writeBigUInt64LE(1n, MSGHDR + 24);
  view.writeBigUInt64LE(base + BigInt(CONTROL), MSGHDR + 32);
  block = { ptr, base, view, dataLen };
  return block;
}

/**
 * recvmsg(2) on `fd` (pass MSG_DONTWAIT in `flags` for a non-blocking read): returns the message, its source
 * sockaddr and the IPv6 hop limit when the socket reports it; undefined when nothing is waiting (EAGAIN).
 * Messages longer than `maxLen` are truncated to it.
 */
export function recvmsg(fd: number, flags: number, maxLen = 65536): Received | undefined {
  const b = area(maxLen);
  const v = b.view;
  v.writeUInt32LE(NAME_LEN, MSGHDR + 8);
  v.writeBigUInt64LE(BigInt(CONTROL_LEN), MSGHDR + 40);
  v.writeInt32LE(0, MSGHDR + 48);
  const n = Number(recvmsgFn(fd, b.ptr, flags));
  if (n < 0) {
    const e = koffi.errno();
    if (e === osConstants.errno.EAGAIN || e === osConstants.errno.EWOULDBLOCK) return undefined;
    throw new SysError('recvmsg', e);
  }
  const nameLen = v.readUInt32LE(MSGHDR + 8);
  const controlLen = Number(v.readBigUInt64LE(MSGHDR + 40));
  let hopLimit: number | undefined;
  // Walk the control messages: cmsghdr { size_t len; int level; int type; } then data, each 8-byte aligned.
  for (let at = 0; at + 16 <= controlLen; ) {
    const len = Number(v.readBigUInt64LE(CONTROL + at));
    if (len < 16) break;
    if (
      v.readInt32LE(CONTROL + at + 8) === IPPROTO_IPV6 &&
      v.readInt32LE(CONTROL + at + 12) === IPV6_HOPLIMIT
    ) {
      hopLimit = v.readInt32LE(CONTROL + at + 16);
    }
    at += (len + 7) & ~7;
  }
  return {
    data: v.subarray(DATA, DATA + Math.min(n, b.dataLen)),
    from: v.subarray(NAME, NAME + Math.min(nameLen, NAME_LEN)),
    hopLimit,
  };
}
