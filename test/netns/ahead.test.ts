/**
 * The parts that make big labs fast, against the real kernel: mount-point files made ahead on a worker thread
 * (placeholders.ts), namespaces deleted with their unmounts on libuv's pool, netlink sockets that take big
 * buffers only when a batch needs them, and root qdiscs read from the device list. iproute2 and `tc` are the
 * witnesses; everything is named nslab-t-* and deleted by exact name.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { KernelSession } from '../../src/apply/session.js';
import { readQdiscs } from '../../src/faults/observe.js';
import { addrAdd } from '../../src/netlink/addr.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';
import { NetnsHandle } from '../../src/netns/handle.js';
import {
  deleteNamedNetnsMany,
  NETNS_RUN_DIR,
  NetnsError,
  namedNetnsId,
  placeholdersAhead,
} from '../../src/netns/named.js';
import * as sys from '../../src/sys/libc.js';
import { ipJson, ipNetnsDelete, ipNetnsList, skipUnlessRoot, uniqueName } from '../helpers/kernel.js';

describe('big-lab fast paths', { skip: skipUnlessRoot }, () => {
  const made: string[] = [];
  const name = (tag: string) => {
    const n = uniqueName(tag);
    made.push(n);
    return n;
  };
  after(() => {
    for (const n of made) {
      ipNetnsDelete(n);
      // A plain file left by a failing assertion (ip netns del would not remove it).
      try {
        if (existsSync(`${NETNS_RUN_DIR}/${n}`)) execFileSync('rm', ['-f', '--', `${NETNS_RUN_DIR}/${n}`]);
      } catch {}
    }
  });

  it('placeholders made ahead become namespaces; the ones not taken are removed, a taken name is refused', () => {
    const names = Array.from({ length: 40 }, () => name('ahead'));
    const taken = name('taken');
    writeFileSync(`${NETNS_RUN_DIR}/${taken}`, 'someone else’s');
    const ahead = placeholdersAhead([...names, taken]);
    assert.ok(ahead, 'a worker thread starts');
    const handles: NetnsHandle[] = [];
    try {
      for (const n of names.slice(0, 30)) handles.push(NetnsHandle.create(n, { lo: {}, ahead }));
      assert.throws(
        () => NetnsHandle.create(taken, { ahead }),
        (e) => e instanceof NetnsError && e.code === 'EEXIST',
      );
    } finally {
      ahead.finish();
      for (const h of handles) h.close();
    }
    const list = new Set(ipNetnsList());
    for (const n of names.slice(0, 30)) {
      assert.ok(list.has(n), `${n} is a namespace`);
      assert.equal(typeof namedNetnsId(n), 'object', `${n} is mounted`);
      const lo = ipJson<{ flags: string[] }[]>(n, 'link', 'show', 'dev', 'lo');
      assert.ok(lo[0].flags.includes('UP'));
    }
    for (const n of names.slice(30)) assert.equal(existsSync(`${NETNS_RUN_DIR}/${n}`), false, `${n} removed`);
    // The other owner's file is untouched.
    assert.equal(statSync(`${NETNS_RUN_DIR}/${taken}`).size > 0, true);
    execFileSync('rm', ['-f', '--', `${NETNS_RUN_DIR}/${taken}`]);
  });

  it('deletes many namespaces with unmounts in parallel, and leaves one that is not the namespace expected', async () => {
    const names = Array.from({ length: 12 }, () => name('many'));
    for (const n of names) execFileSync('ip', ['netns', 'add', n]);
    const ids = names.map((n) => {
      const id = namedNetnsId(n);
      assert.equal(typeof id, 'object');
      return (id as { id: { dev: number; ino: number } }).id;
    });
    const seen: string[] = [];
    const skipped = await deleteNamedNetnsMany(
      names.map((n, i) => ({ name: n, expect: i === 3 ? { dev: ids[3].dev, ino: ids[3].ino + 1 } : ids[i] })),
      (n) => seen.push(n),
    );
    assert.deepEqual(skipped, [names[3]]);
    assert.equal(seen.length, 11);
    const list = new Set(ipNetnsList());
    for (const [i, n] of names.entries()) assert.equal(list.has(n), i === 3, n);
  });

  it('a socket keeps the default buffers for dumps and small batches, and takes big ones for a big batch', () => {
    const ns = name('buf');
    execFileSync('ip', ['netns', 'add', ns]);
    const h = NetnsHandle.open(ns);
    try {
      const before = sys.getsockoptInt(h.sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF);
      h.links();
      h.run(addrAdd({ index: 1, cidr: '10.99.0.1/32', dev: 'lo' }));
      assert.equal(sys.getsockoptInt(h.sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF), before);
      const reqs = Array.from({ length: 200 }, (_, i) =>
        addrAdd({ index: 1, cidr: `10.99.1.${i}/32`, dev: 'lo' }),
      );
      assert.deepEqual(
        h.execute(reqs).filter((r) => r !== undefined),
        [],
      );
      assert.ok(sys.getsockoptInt(h.sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF) > before);
      const addrs = ipJson<{ addr_info: { local: string }[] }[]>(ns, 'addr', 'show', 'dev', 'lo');
      assert.equal(addrs[0].addr_info.filter((a) => a.local.startsWith('10.99.')).length, 201);
    } finally {
      h.close();
    }
    // A subscription asks for the big receive buffer at once.
    const sock = NetlinkSocket.open();
    try {
      const before = sys.getsockoptInt(sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF);
      sock.subscribe([1]);
      assert.ok(sys.getsockoptInt(sock.fd, sys.SOL_SOCKET, sys.SO_RCVBUF) > before);
    } finally {
      sock.close();
    }
  });

  it('root qdiscs from the device list are what the qdisc dump says, and a tbf is read in full', () => {
    const ns = name('qd');
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'va', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const session = new KernelSession(ns);
    try {
      const h = session.handle(null);
      const fromList = readQdiscs(h, h.links());
      const fromDump = readQdiscs(h);
      const key = (q: { dev: string; kind: string }) => `${q.dev} ${q.kind}`;
      // The kernel's witness: the root qdiscs `tc -json qdisc show` lists.
      const tc = JSON.parse(
        execFileSync('ip', ['netns', 'exec', ns, 'tc', '-json', 'qdisc', 'show'], { encoding: 'utf8' }),
      ) as { dev: string; kind: string; root?: boolean }[];
      const roots = tc.filter((q) => q.root).map(key);
      assert.deepEqual(fromList.map(key).sort(), roots.sort());
      assert.deepEqual(fromDump.map(key).sort(), roots.sort());
      // vb is down (noop: never dumped); va and lo are up (noqueue).
      assert.deepEqual(roots.sort(), ['lo noqueue', 'va noqueue']);
      execFileSync('ip', [
        'netns',
        'exec',
        ns,
        'tc',
        'qdisc',
        'add',
        'dev',
        'va',
        'root',
        'tbf',
        'rate',
        '8mbit',
        'burst',
        '32kb',
        'latency',
        '50ms',
      ]);
      const tbf = readQdiscs(h, h.links()).find((q) => q.dev === 'va');
      assert.equal(tbf?.kind, 'tbf');
      assert.equal(tbf?.qdisc?.kind, 'tbf');
      assert.equal((tbf?.qdisc as { rate?: number } | undefined)?.rate, 1_000_000);
    } finally {
      session.close();
    }
  });
});
