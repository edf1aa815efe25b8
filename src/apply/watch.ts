/**
 * Waits on the kernel for devices to disappear: a netlink socket subscribed to the link group (RTNLGRP_LINK, as
 * `ip monitor link` is) counts the RTM_DELLINK events, and a dump confirms. Deleting namespaces returns at once
 * while the kernel removes their devices (and the host ends of their veths) in the background: `down` waits
 * here, so that an `up` right after never meets a name still taken.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parseLink, RTM_DELLINK } from '../netlink/link.js';
import { parseMessages } from '../netlink/message.js';
import type { NetnsHandle } from '../netns/handle.js';
import { inNetns } from '../netns/thread.js';
import * as sys from '../sys/libc.js';
import { setSocketBuffers } from '../sys/sockbuf.js';

const NETLINK_ROUTE = 0;
/** RTMGRP_LINK: the multicast group of link changes. */
const RTMGRP_LINK = 1;
const RCVBUF = 32 * 1024 * 1024;

/** A subscription to link events in one namespace, opened before the deletions it is to see. */
export class LinkWatch {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(256 * 1024);
  private closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Subscribes to link events in the namespace of `h` (`ip -n NS monitor link`). */
  static open(h: NetnsHandle): LinkWatch {
    const fd = inNetns(h.fd, () =>
      sys.socket(sys.AF_NETLINK, sys.SOCK_RAW | sys.SOCK_NONBLOCK, NETLINK_ROUTE),
    );
    try {
      // Smaller in a private lab (no SO_RCVBUFFORCE there): events lost to ENOBUFS make waitGone dump again.
      setSocketBuffers(fd, { rcv: RCVBUF });
      const addr = Buffer.alloc(12);
      addr.writeUInt16LE(sys.AF_NETLINK, 0);
      addr.writeUInt32LE(RTMGRP_LINK, 8);
      sys.bind(fd, addr);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    return new LinkWatch(fd);
  }

  /** Reads the pending events; returns the indexes deleted, or undefined when events were lost (ENOBUFS). */
  private drain(): number[] | undefined {
    const out: number[] = [];
    for (;;) {
      let n: number;
      try {
        n = sys.recv(this.fd, this.buf, sys.MSG_DONTWAIT, true);
      } catch (e) {
        if (e instanceof sys.SysError && e.code === 'ENOBUFS') return undefined;
        throw e;
      }
      if (n < 0) return out;
      for (const m of parseMessages(this.buf, n)) if (m.type === RTM_DELLINK) out.push(parseLink(m).index);
    }
  }

  /**
   * Waits until none of `devices` (index -> name, as listed before the deletions) is in the namespace of `h`,
   * or `timeoutMs` has passed; returns the names still there. Sleeps in poll(2) between events, in short slices
   * between event-loop turns; each time the events say all are gone, or were lost, a dump of `h` decides.
   */
  async waitGone(h: NetnsHandle, devices: Map<number, string>, timeoutMs = 30_000): Promise<string[]> {
    const left = new Map<number, string>();
    const deadline = performance.now() + timeoutMs;
    // The dump is the truth; events only say when to look again.
    const stillThere = () => {
      const now = new Map(h.links().map((l) => [l.index, l.name]));
      left.clear();
      for (const [i, name] of devices) if (now.get(i) === name) left.set(i, name);
    };
    stillThere();
    while (left.size > 0) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      sys.pollIn([this.fd], Math.min(20, Math.ceil(remaining)));
      const deleted = this.drain();
      if (deleted === undefined) stillThere();
      else {
        for (const i of deleted) left.delete(i);
        if (left.size === 0) stillThere();
      }
      if (left.size > 0) await yieldToLoop();
    }
    return [...left.values()];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.close(this.fd);
  }
}
