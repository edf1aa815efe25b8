/**
 * Private labs through the built CLI: the tutorial's lab as user nobody, four labs of one file side by side as
 * root, `kill -9` during `up`, `private: true` in a file, and `--name`. Witnesses: /proc (every process a test
 * starts carries a mark in its environment, inherited by everything in the sandbox), the machine's /run/netns
 * (what `ip netns list` reads), `ip -json`, and ping's own output.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipJson, skipUnlessRoot } from '../helpers/kernel.js';
import {
  killMarked,
  machineNamespace,
  marked,
  newMark,
  readableBy,
  recordIn,
  removeRuntimeDir,
  runtimeDir,
  sandboxNamespaces,
  waitUnmarked,
  watchMachineNamespaces,
} from '../helpers/sandbox.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NOBODY = 65534;

/** `nslab ARGS` as `uid` (root, or nobody through setpriv), with the given environment, to completion. */
function run(uid: number, args: string[], env: NodeJS.ProcessEnv) {
  const argv = [process.execPath, BIN, ...args];
  const cmd = uid === 0 ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv];
  const r = spawnSync(cmd[0], cmd.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `nslab ARGS` as root in the background; resolves with its exit status. */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: 'ignore',
  });
  return { child, done: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** A topology file in a directory everyone may read (nobody's CLI reads it too). */
function sharedFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-t-prv-file-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'lab.nslab.yml');
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

/** The tutorial's lab under names of this test: namespaces `PREFIXa`, `PREFIXb`. */
function seedLike(name: string, prefix: string, extra = ''): string {
  return `name: ${name}
prefix: ${prefix}
${extra}topology:
  nodes:
    host: { sysctls: { net.ipv4.ip_forward: 1 } }
    a: { routes: [{ dst: 10.1.20.0/24, via: 10.1.10.1 }] }
    b: { routes: [{ dst: 10.1.10.0/24, via: 10.1.20.1 }] }
  links:
    - endpoints: ["host:veth11", "a:veth12"]
      ipv4: ["10.1.10.1/24", "10.1.10.2/24"]
    - endpoints: ["host:veth21", "b:veth22"]
      ipv4: ["10.1.20.1/24", "10.1.20.2/24"]
`;
}

const nobodyCannotRead =
  !skipUnlessRoot &&
  !readableBy(NOBODY, BIN) &&
  'the checkout (dist/cli/nslab.cjs) is not readable by user nobody (uid 65534), who runs these tests';

describe('a private lab as user nobody', { skip: skipUnlessRoot || nobodyCannotRead }, () => {
  let dir = '';
  const mark = newMark();
  const env = () => ({ XDG_RUNTIME_DIR: dir, ...mark });
  before(() => {
    dir = runtimeDir(NOBODY);
  });
  after(() => {
    killMarked(mark);
    removeRuntimeDir(dir);
  });

  it("the tutorial's lab: ping answers with ttl=63 inside, nothing shows on the machine, down leaves nothing", async () => {
    const forwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    const up = run(NOBODY, ['up', 'examples/seed.nslab.yml', '--private'], env());
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /lab seed is up/);
    const record = recordIn(dir, 'seed');
    assert.ok(record, 'the lab is recorded in the user state directory');
    // The lab's namespaces exist inside the sandbox, and are not the machine's (whatever it has under those names).
    const inside = sandboxNamespaces(record.init.pid);
    assert.deepEqual([...inside.keys()].sort(), ['ns0', 'ns1']);
    for (const [name, ino] of inside)
      assert.notEqual(machineNamespace(name), ino, `${name} is not on the machine`);

    const ping = run(NOBODY, ['exec', 'ns0', '--', 'ping', '-c', '1', '-W', '2', '10.1.20.2'], env());
    assert.equal(ping.status, 0, ping.stderr + ping.stdout);
    assert.match(ping.stdout, /ttl=63/);
    // The probe sockets of nslab ping, in the user namespace (no SO_RCVBUFFORCE there).
    const matrix = run(NOBODY, ['ping', 'seed'], env());
    assert.equal(matrix.status, 0, matrix.stderr + matrix.stdout);
    assert.match(matrix.stdout, /8\/8 pings reached/);
    const list = run(NOBODY, ['status'], env());
    assert.match(list.stdout, /seed\s.*private \(sandbox \d+\)/);
    assert.equal(
      readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'),
      forwarding,
      "the machine's ip_forward",
    );

    const down = run(NOBODY, ['down', 'seed'], env());
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /lab seed is down/);
    assert.deepEqual(await waitUnmarked(mark), [], 'no process of the lab or of nslab is left');
    assert.equal(
      marked(mark).length + spawnSync('pgrep', ['-u', String(NOBODY), '-f', BIN]).stdout.length,
      0,
      'no process of user nobody running nslab',
    );
    assert.equal(recordIn(dir, 'seed'), undefined);
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), forwarding);
  });

  it('up without --private says in one line that the lab is made private, and makes it', async () => {
    const up = run(NOBODY, ['up', 'examples/seed.nslab.yml', '--name', 'seed-quiet', '-q'], env());
    assert.equal(up.status, 0, up.stderr);
    assert.equal(
      up.stderr,
      "not root: lab seed-quiet is made private, in a sandbox of its own (the machine's `ip netns list` does not show it)\n",
    );
    assert.ok(recordIn(dir, 'seed-quiet'));
    assert.equal(run(NOBODY, ['down', 'seed-quiet', '-q'], env()).status, 0);
    assert.deepEqual(await waitUnmarked(mark), []);
  });

  it('what cannot work privately fails with a sentence naming it: --host-netns, a sysctl that is not per namespace', async () => {
    const hostNs = run(NOBODY, ['up', 'examples/seed.nslab.yml', '--host-netns', 'nslab-t-prv-x'], env());
    assert.equal(hostNs.status, 2);
    assert.match(hostNs.stderr, /cannot use nslab-t-prv-x of the machine \(--host-netns\)/);
    const file = sharedFile(
      seedLike('prvglobal', 'p-').replace(
        'host: { sysctls: { net.ipv4.ip_forward: 1 } }',
        'host: { sysctls: { net.ipv4.neigh.default.gc_thresh3: 4096 } }',
      ),
    );
    const up = run(NOBODY, ['up', file, '--private'], env());
    assert.equal(up.status, 1);
    assert.match(up.stderr, /sysctl net\.ipv4\.neigh\.default\.gc_thresh3 is not per network namespace/);
    assert.doesNotMatch(up.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(recordIn(dir, 'prvglobal'), undefined, 'the sandbox of a failed up is removed');
    assert.deepEqual(await waitUnmarked(mark), []);
  });
});

describe('private labs as root', { skip: skipUnlessRoot }, () => {
  let dir = '';
  const mark = newMark();
  const env = () => ({ XDG_RUNTIME_DIR: dir, ...mark });
  const prefix = `nslab-t-prv${process.pid}-`;
  before(() => {
    dir = runtimeDir(0);
  });
  after(() => {
    killMarked(mark);
    removeRuntimeDir(dir);
  });

  it('four labs of one file, with the same node names, up in parallel, each pinged live, each taken down; none of their namespaces on the machine at any time', async () => {
    const file = sharedFile(seedLike('prvpar', prefix));
    const watch = watchMachineNamespaces((n) => n.startsWith(prefix));
    const names = [1, 2, 3, 4].map((i) => `prvpar${process.pid}-${i}`);
    try {
      const ups = names.map((n) => start(['up', file, '--private', '--name', n, '-q'], env()));
      assert.deepEqual(await Promise.all(ups.map((u) => u.done)), [0, 0, 0, 0]);
      for (const n of names) {
        const m = run(0, ['ping', n], env());
        assert.equal(m.status, 0, m.stdout + m.stderr);
        const p = run(0, ['exec', '--lab', n, 'a', '--', 'ping', '-c', '1', '-W', '2', '10.1.20.2'], env());
        assert.match(p.stdout, /ttl=63/, p.stderr);
        const sandboxes = new Set(names.map((x) => recordIn(dir, x)?.init.pid));
        assert.equal(sandboxes.size, 4, 'four sandboxes');
      }
      const downs = names.map((n) => start(['down', n, '-q'], env()));
      assert.deepEqual(await Promise.all(downs.map((d) => d.done)), [0, 0, 0, 0]);
    } finally {
      assert.deepEqual(watch.stop(), [], 'no namespace of theirs ever on the machine');
    }
    assert.deepEqual(await waitUnmarked(mark), []);
    for (const n of names) assert.equal(recordIn(dir, n), undefined);
  });

  it('kill -9 of the CLI (and every nslab process) during up: nothing is left once the holder is gone', async () => {
    const file = sharedFile(
      seedLike('prvkill', prefix).replace('a: { routes', 'a: { exec: ["sleep 0.6"], routes'),
    );
    for (const at of [20, 120, 350, 800, 1500]) {
      const m = newMark();
      const name = `prvkill${process.pid}-${at}`;
      const up = start(['up', file, '--private', '--name', name, '-q'], { XDG_RUNTIME_DIR: dir, ...m });
      await sleep(at);
      // Every nslab process: the CLI, and the CLI it runs inside the sandbox.
      for (const p of marked(m)) if (p.comm === 'node') process.kill(p.pid, 'SIGKILL');
      up.child.kill('SIGKILL');
      await up.done;
      const record = recordIn(dir, name);
      // The holder, if it is still the test's own process (marked): then nothing else is killed.
      if (record && marked(m).some((p) => p.pid === record.holder.pid))
        process.kill(record.holder.pid, 'SIGKILL');
      assert.deepEqual(
        await waitUnmarked(m),
        [],
        `killed after ${at} ms (${record ? 'recorded' : 'not recorded yet'})`,
      );
      // A record left names a gone sandbox: the next command forgets it.
      run(0, ['status'], env());
      assert.equal(recordIn(dir, name), undefined);
    }
  });

  it('private: true in the file makes up private without --private', async () => {
    const file = sharedFile(seedLike('prvfile', prefix, 'private: true\n'));
    const watch = watchMachineNamespaces((n) => n.startsWith(prefix));
    const up = run(0, ['up', file, '-q'], env());
    assert.equal(up.status, 0, up.stderr);
    assert.ok(recordIn(dir, 'prvfile'));
    assert.match(run(0, ['status', file], env()).stdout, /in line with the file/);
    assert.equal(run(0, ['down', file, '-q'], env()).status, 0);
    assert.deepEqual(watch.stop(), []);
    assert.deepEqual(await waitUnmarked(mark), []);
  });
});

describe('--name overrides the lab name of the file', { skip: skipUnlessRoot }, () => {
  let sandbox = '';
  const prefix = `nslab-t-prvn${process.pid}-`;
  const name = `prvnamed${process.pid}`;
  before(() => {
    sandbox = makeSandbox('prvname');
  });
  after(() => {
    run(0, ['down', name, '--host-netns', sandbox, '-q'], {});
    removeSandbox(sandbox, [`${prefix}a`, `${prefix}b`]);
  });

  it('in the ledger, the device marks and status', () => {
    const file = sharedFile(seedLike('prvfilename', prefix));
    const up = run(0, ['up', file, '--name', name, '--host-netns', sandbox, '-q'], {});
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`lab ${name} is up`));
    const lo = ipJson<{ ifalias?: string }[]>(`${prefix}a`, 'link', 'show', 'dev', 'lo');
    assert.equal(lo[0].ifalias, `nslab:${name}`);
    const host = ipJson<{ ifalias?: string }[]>(sandbox, 'link', 'show', 'dev', 'veth11');
    assert.equal(host[0].ifalias, `nslab:${name}`);
    const state = process.env.NSLAB_STATE_DIR ?? '/run/nslab';
    assert.ok(existsSync(join(state, `${name}@${sandbox}.json`)));
    assert.equal(run(0, ['status', name], {}).status, 0);
    assert.equal(run(0, ['down', name, '-q'], {}).status, 0);
    assert.equal(existsSync(join(state, `${name}@${sandbox}.json`)), false);
  });

  it('a name that cannot name a lab is refused with a sentence', () => {
    const r = run(0, ['up', 'examples/seed.nslab.yml', '--name', 'a b', '--host-netns', sandbox], {});
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the lab name given \(--name\) must use only letters/);
  });
});
