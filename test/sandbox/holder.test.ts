/**
 * The sandbox of a private lab: new namespaces with private tmpfs on /run/netns and /run/nslab, process 1 reaping
 * orphans, and its life tied to its maker (until released, and after that too unless detached). Witnesses:
 * /proc (namespace links, mountinfo, uid_map, process states).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { childrenOf, startHolder, stopSandbox } from '../../src/sandbox/holder.js';
import { joinCommand } from '../../src/sandbox/inside.js';
import { isRunning, type PrivateRecord } from '../../src/sandbox/records.js';
import { skipUnlessRoot } from '../helpers/kernel.js';
import { readableBy } from '../helpers/sandbox.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ns = (pid: number | 'self', kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);

function mountsOf(pid: number): { point: string; type: string }[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [left, right] = l.split(' - ');
      return { point: left.split(' ')[4], type: right.split(' ')[0] };
    });
}

type Sandbox = Pick<PrivateRecord, 'holder' | 'init' | 'userns' | 'mnt'>;

/** Runs test/sandbox/fixtures/maker.ts (as `uid`), waits for the sandbox it prints. */
async function maker(args: string[], uid = 0) {
  const argv = [process.execPath, '--import', 'tsx', 'test/sandbox/fixtures/maker.ts', ...args];
  const cmd = uid === 0 ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv];
  const child = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the maker exited (${code})`)));
  });
  return { child, sandbox: JSON.parse(line) as Sandbox };
}

async function gone(s: Sandbox, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isRunning(s.init) && !isRunning(s.holder)) return true;
    await sleep(20);
  }
  return false;
}

describe('the sandbox of a private lab', { skip: skipUnlessRoot }, () => {
  it('has namespaces of its own, tmpfs on /run/netns and /run/nslab, and no user namespace as root', async () => {
    const h = await startHolder({ detached: false });
    h.release();
    const { init, holder } = h.sandbox;
    try {
      assert.equal(h.sandbox.userns, false);
      for (const kind of ['mnt', 'net', 'pid']) assert.notEqual(ns(init.pid, kind), ns('self', kind), kind);
      assert.equal(ns(init.pid, 'user'), ns('self', 'user'));
      // The holder is in the new namespaces, except the pid namespace, which is its child's.
      assert.equal(ns(holder.pid, 'net'), ns(init.pid, 'net'));
      assert.equal(ns(holder.pid, 'pid_for_children'), ns(init.pid, 'pid'));
      const mounts = mountsOf(init.pid);
      for (const dir of ['/run/netns', '/run/nslab'])
        assert.equal(mounts.findLast((m) => m.point === dir)?.type, 'tmpfs', dir);
      assert.ok(
        !mountsOf(process.pid).some((m) => m.type === 'tmpfs' && m.point === '/run/nslab'),
        'not on the machine',
      );
    } finally {
      assert.equal(await stopSandbox(h.sandbox), true);
    }
    assert.equal(isRunning(init) || isRunning(holder), false);
  });

  it('process 1 reaps the orphans it inherits: a daemon stopped later is not left a zombie', async () => {
    const h = await startHolder({ detached: false });
    h.release();
    const record = { ...h.sandbox, version: 1, name: 'x', createdAt: '', updatedAt: '' } as PrivateRecord;
    try {
      const cmd = [...joinCommand(record), 'sh', '-c', 'sleep 1007 & exit 0'];
      assert.equal(spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' }).status, 0);
      const orphan = childrenOf(h.sandbox.init.pid).find(
        (p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00001007\u0000',
      );
      assert.ok(orphan, 'the daemon is a child of process 1');
      process.kill(orphan, 'SIGKILL');
      await sleep(200);
      assert.equal(childrenOf(h.sandbox.init.pid).includes(orphan), false, 'reaped, not a zombie');
    } finally {
      await stopSandbox(h.sandbox);
    }
  });

  it('ends by itself when its maker dies before releasing it, detached or not', async () => {
    for (const mode of ['detached', 'attached']) {
      const { child, sandbox } = await maker([mode]);
      child.kill('SIGKILL');
      assert.equal(await gone(sandbox), true, mode);
    }
  });

  it('released: ends with its maker unless detached', async () => {
    const attached = await maker(['attached', 'release']);
    attached.child.kill('SIGKILL');
    assert.equal(await gone(attached.sandbox), true, 'attached: --pdeathsig');
    const detached = await maker(['detached', 'release']);
    detached.child.kill('SIGKILL');
    await sleep(300);
    try {
      assert.equal(isRunning(detached.sandbox.init), true, 'detached: lives on');
    } finally {
      await stopSandbox(detached.sandbox);
    }
  });

  it('made by a user who is not root: a user namespace that maps that user to root', {
    skip:
      !readableBy(65534, join(ROOT, 'test/sandbox/fixtures/maker.ts')) &&
      'the checkout is not readable by user nobody',
  }, async () => {
    const { child, sandbox } = await maker(['attached', 'release'], 65534);
    try {
      assert.equal(sandbox.userns, true);
      assert.notEqual(ns(sandbox.init.pid, 'user'), ns('self', 'user'));
      assert.deepEqual(readFileSync(`/proc/${sandbox.init.pid}/uid_map`, 'utf8').trim().split(/\s+/), [
        '0',
        '65534',
        '1',
      ]);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await gone(sandbox), true);
  });
});
