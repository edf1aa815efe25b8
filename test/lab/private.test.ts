/**
 * Private labs through the library: `Lab.up(file, { private: true })` in parallel test workers, a library user
 * killed during `up`, and the methods of a private lab. Witnesses: /proc (every process a test starts carries a
 * mark in its environment, inherited by everything in the sandbox), the machine's /run/netns, ping's output.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab, type PrivateLab } from '../../src/lab/lab.js';
import { skipUnlessRoot } from '../helpers/kernel.js';
import {
  killMarked,
  machineNamespace,
  marked,
  newMark,
  removeRuntimeDir,
  runtimeDir,
  sandboxNamespaces,
  waitUnmarked,
} from '../helpers/sandbox.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SEED = join(ROOT, 'examples', 'seed.nslab.yml');

describe('private labs in the library', { skip: skipUnlessRoot }, () => {
  let dir = '';
  const mark = newMark();
  const saved = { ...process.env };
  before(() => {
    dir = runtimeDir(0);
    // This process's own environment: the sandboxes and agents it makes inherit the mark.
    Object.assign(process.env, { XDG_RUNTIME_DIR: dir, ...mark });
  });
  after(() => {
    killMarked(mark);
    process.env.XDG_RUNTIME_DIR = saved.XDG_RUNTIME_DIR;
    if (saved.XDG_RUNTIME_DIR === undefined) delete process.env.XDG_RUNTIME_DIR;
    delete process.env.NSLAB_TEST_MARK;
    removeRuntimeDir(dir);
  });

  it('four node:test workers (--test-concurrency=4), each with its own private seed lab, at the same time', async () => {
    const out = join(dir, 'workers.jsonl');
    writeFileSync(out, '');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=4', 'test/lab/fixtures/private-workers.ts'],
      // Without NODE_TEST_CONTEXT, which would make that runner report to this one instead of running its tests.
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, PRIVATE_WORKERS_OUT: out },
      },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const runs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; upAt: number });
    // Each worker waited, its lab up, until all four were: they were up side by side, under four names.
    assert.equal(runs.length, 4);
    assert.equal(new Set(runs.map((x) => x.name)).size, 4, 'four names');
    assert.deepEqual(await waitUnmarked(mark), []);
  });

  it('a library user killed with SIGKILL during up leaves nothing: the sandbox ends with it', async () => {
    const fileDir = mkdtempSync(join(tmpdir(), 'nslab-t-prv-lib-'));
    chmodSync(fileDir, 0o755);
    const file = join(fileDir, 'slow.nslab.yml');
    writeFileSync(
      file,
      readFileSync(SEED, 'utf8').replace(
        '    ns0:\n',
        '    ns0:\n      exec: ["sleep 0.5", "sleep 1008 &"]\n',
      ),
    );
    for (const at of [300, 900, 1400, 2500]) {
      const m = newMark();
      const user = spawn(process.execPath, ['--import', 'tsx', 'test/lab/fixtures/private-user.ts', file], {
        cwd: ROOT,
        env: { ...process.env, ...m },
        stdio: 'ignore',
      });
      await sleep(at);
      user.kill('SIGKILL');
      // Nothing else is killed: the holder has --pdeathsig, its process 1 takes the rest.
      assert.deepEqual(await waitUnmarked(m), [], `killed after ${at} ms`);
    }
  });

  it('a private lab from a spec, held by await using: its named processes and node views, inside its sandbox', async () => {
    const running = () =>
      marked(mark).filter(
        (p) => p.comm === 'sleep' && readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('1011'),
      );
    {
      await using lab = (await Lab.up(
        {
          name: 'procs',
          topology: {
            nodes: {
              a: {
                files: { '/etc/frr/frr.conf': 'hostname a\n' },
                private: ['/var/tmp'],
                processes: [
                  {
                    name: 'talker',
                    command: 'cat /etc/frr/frr.conf; echo READY; exec sleep 1011',
                    ready: { log: 'READY' },
                  },
                ],
              },
              b: {},
            },
            links: [{ endpoints: ['a:e0', 'b:e0'] }],
          },
        },
        { private: true },
      )) as PrivateLab;
      assert.match(lab.name, /^procs-[0-9a-f]{4}$/);
      const p = lab.process('a', 'talker');
      assert.equal(p.running, true);
      assert.equal(typeof p.pid, 'number');
      assert.match(p.logs(), /hostname a\nREADY/);
      assert.equal(running().length, 1);
      // exec runs in the node's view: its file, its private directory, the lab's /etc/hosts.
      const conf = await lab.exec('a', ['cat', '/etc/frr/frr.conf']);
      assert.equal(conf.stdout, 'hostname a\n');
      const tmp = await lab.exec('a', ['sh', '-c', 'ls -A /var/tmp | wc -l']);
      assert.equal(tmp.stdout.trim(), '0');
      const hosts = await lab.exec('a', ['getent', 'hosts', 'b']);
      assert.match(hosts.stdout, new RegExp(lab.addr('b').replaceAll('.', '\\.')));
      assert.notEqual(readFileSync('/etc/frr/frr.conf', 'utf8'), 'hostname a\n');
      await p.stop({ graceMs: 500 });
      assert.equal(p.running, false);
      assert.deepEqual(running(), []);
      await p.start();
      assert.equal(p.running, true);
      assert.equal(running().length, 1);
      assert.throws(() => lab.process('a', 'nope'), /has no process nope on node a/);
    }
    // The end of the block took the lab and its sandbox down.
    assert.deepEqual(await waitUnmarked(mark), []);
  });

  it('a private lab has the methods of any lab, run inside its sandbox', async () => {
    const lab = (await Lab.up(SEED, { private: true })) as PrivateLab;
    try {
      assert.match(lab.name, /^seed-[0-9a-f]{4}$/);
      const inside = sandboxNamespaces(lab.sandbox.init.pid);
      for (const [name, ino] of inside) assert.notEqual(machineNamespace(name), ino);
      assert.deepEqual(lab.status().drift, []);
      const m = await lab.ping();
      assert.equal(m.results.filter((x) => x.verdict === 'reached').length, 8);
      assert.ok(Lab.list().some((l) => l.name === lab.name && l.private));
      // Found by name, as a lab that is up.
      const again = Lab.attach(lab.name);
      const r = await again.exec('ns1', ['ip', '-json', 'addr', 'show', 'dev', 'veth22']);
      assert.match(r.stdout, /10\.1\.20\.2/);
      again.close();
      // A process started in a node is a real child; kill() reaches the command inside, not only nsenter.
      const child = lab.spawn('ns0', 'sleep', ['1009'], { stdio: 'ignore' });
      await sleep(300);
      const sleeping = () =>
        marked(mark).filter(
          (p) => p.comm === 'sleep' && readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('1009'),
        );
      assert.equal(sleeping().length, 1);
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      await sleep(100);
      assert.deepEqual(sleeping(), []);
      await assert.rejects(
        (async () => lab.handle('ns0'))(),
        /is private: a NetnsHandle cannot reach inside its sandbox/,
      );
      // An error from inside is the same error type, with its fields.
      await assert.rejects(
        lab.linkDown('ns0:nope'),
        (e: Error) => e.name !== 'Error' && /nope/.test(e.message),
      );
      const down = await lab.down();
      assert.equal(down.changed, true);
    } finally {
      await lab.destroy();
    }
    assert.deepEqual(await waitUnmarked(mark), []);
  });
});
