/**
 * Batches of netlink requests bigger than the socket's buffers: the kernel handles a whole datagram before it is
 * read, so nslab cuts batches to what the buffers it was granted can take. Tested with small buffers forced as
 * root, and in a user namespace (a private lab's), where SO_RCVBUFFORCE is refused and SO_RCVBUF is capped by
 * net.core.rmem_max. The kernel is the witness: `ip -json addr`, and the errors it answered.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addrAdd } from '../../src/netlink/addr.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { openNamedNetns } from '../../src/netns/named.js';
import { inNetns } from '../../src/netns/thread.js';
import * as sys from '../../src/sys/libc.js';
import { ipJson, ipNetnsDelete, skipUnlessRoot, uniqueName } from '../helpers/kernel.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('netlink batches cut to the buffers granted', { skip: skipUnlessRoot }, () => {
  const ns = uniqueName('buf');
  let fd: number;
  before(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    fd = openNamedNetns(ns);
  });
  after(() => {
    sys.close(fd);
    ipNetnsDelete(ns);
  });

  const addresses = Array.from({ length: 3000 }, (_, i) => `10.77.${i >> 8}.${i & 255}/32`);

  it('3000 requests on a 32 KB receive buffer: every one applied, every refusal reported', () => {
    // Forced small (root may): errors for 3000 requests need 2.5 MB of receive buffer, sent in one datagram.
    const sock = inNetns(fd, () => NetlinkSocket.open(undefined, { rcv: 16 << 10, snd: 16 << 10 }));
    try {
      assert.equal(sys.getsockoptInt(sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF), 32 << 10);
      const reqs = addresses.map((cidr) => addrAdd({ index: 1, cidr, dev: 'lo' }));
      assert.deepEqual(
        sock.execute(reqs).filter((r) => r !== undefined),
        [],
      );
      const live = ipJson<{ addr_info: { local: string }[] }[]>(ns, 'addr', 'show', 'dev', 'lo');
      assert.equal(live[0].addr_info.filter((a) => a.local.startsWith('10.77.')).length, 3000);
      // The same again: each one is refused (EEXIST), and each refusal comes back.
      const again = sock.execute(reqs);
      assert.equal(again.filter((r) => r?.code === 'EEXIST').length, 3000);
    } finally {
      sock.close();
    }
  });

  it('in a user namespace SO_RCVBUFFORCE is refused, and SO_RCVBUF (capped by rmem_max) serves a batch past it', () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // More errors than twice rmem_max can hold at 830 bytes each, in one call.
    const count = Math.ceil((4 * rmemMax) / 830);
    const r = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--net',
        process.execPath,
        '--import',
        'tsx',
        'test/netlink/fixtures/userns-batch.ts',
        String(count),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rcv: number; codes: Record<string, number> };
    assert.equal(out.rcv, 2 * rmemMax, 'SO_RCVBUF gives twice what was asked, capped by rmem_max');
    assert.deepEqual(out.codes, { EADDRNOTAVAIL: count });
  });
});
