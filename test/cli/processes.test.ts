/**
 * Everything running inside a lab belongs to it: processes started four ways (an `exec:` entry ending in `&`,
 * `lab.spawn`, `nslab exec`, plain `ip netns exec`), one of them ignoring SIGTERM, are all gone after `down`,
 * checked from /proc; `status` lists them first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, nslab, nslabAsync, removeSandbox, topologyFile } from '../helpers/cli.js';
import { skipUnlessRoot } from '../helpers/kernel.js';
import { alive, netnsInode, pidsInNetns, pidsWithArg } from '../helpers/proc.js';

describe('down stops every process in the lab', { skip: skipUnlessRoot }, () => {
  const lab = `ownproc${process.pid}`;
  const prefix = `nslab-t-pr${process.pid}-`;
  const [a, b] = [`${prefix}a`, `${prefix}b`];
  let sandbox = '';
  const started: { kill: () => void }[] = [];
  before(() => {
    sandbox = makeSandbox('proc');
  });
  after(async () => {
    for (const s of started) s.kill();
    await Lab.remove(lab, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(sandbox, [a, b]);
  });

  it('finds them however they were started, and SIGKILLs the one that ignores SIGTERM after the grace', async () => {
    const file = topologyFile(`name: ${lab}
prefix: ${prefix}
topology:
  nodes:
    a:
      exec:
        - "sleep 1001 &"
        - "sh -c 'trap \\"\\" TERM; exec sleep 1002' > /dev/null 2>&1 &"
    b: {}
  links:
    - endpoints: ["host:pa", "a:eth0"]
    - endpoints: ["a:eth1", "b:eth0"]
`);
    await (await Lab.load(file, { hostNetns: sandbox })).up();
    const inodes = [netnsInode(a), netnsInode(b)];

    const viaApi = Lab.attach(lab);
    const child = viaApi.spawn('b', 'sleep', ['1003'], { stdio: 'ignore' });
    viaApi.close();
    started.push({ kill: () => child.kill('SIGKILL') });
    const viaExec = nslabAsync(['exec', 'b', '--', 'sleep', '1004']);
    started.push({ kill: () => viaExec.kill('SIGKILL') });
    const viaIp = spawn('ip', ['netns', 'exec', a, 'sleep', '1005'], { stdio: 'ignore' });
    started.push({ kill: () => viaIp.kill('SIGKILL') });
    // Each started process, found by its argument, inside one of the lab's namespaces.
    const tags = ['1001', '1002', '1003', '1004', '1005'];
    const found = () => {
      const inside = new Set(pidsInNetns(inodes));
      // The sleeps themselves (a launcher is inside for an instant too: `ip netns exec` before its exec).
      const sleeping = (p: number) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep';
      return tags.flatMap((t) => pidsWithArg(t).filter((p) => inside.has(p) && sleeping(p)));
    };
    for (let i = 0; i < 300 && (found().length < 5 || pidsInNetns(inodes).length !== 5); i++)
      await new Promise((r) => setTimeout(r, 10));
    const inside = found();
    const described = inside.map(
      (p) => `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ')}`,
    );
    assert.equal(inside.length, 5, `processes inside:\n${described.join('\n')}`);
    assert.deepEqual(pidsInNetns(inodes).sort(), [...inside].sort());

    const status = JSON.parse(nslab(['status', lab, '--json']).stdout);
    const listed = status.nodes.flatMap((n: { processes: { pid: number }[] }) =>
      n.processes.map((p) => p.pid),
    );
    assert.deepEqual([...listed].sort(), [...inside].sort());

    const exited = new Promise((r) => viaExec.on('close', r));
    const t = performance.now();
    const r = nslab(['down', lab, '--grace', '0.5', '--json']);
    const took = performance.now() - t;
    assert.equal(r.status, 0, r.stderr);
    const down = JSON.parse(r.stdout);
    assert.equal(down.stopped.length, 5);
    const stubborn = down.stopped.find((p: { command: string }) => p.command === 'sleep 1002');
    assert.equal(stubborn.signal, 'SIGKILL');
    assert.equal(down.stopped.filter((p: { signal: string }) => p.signal === 'SIGTERM').length, 4);
    assert.ok(took > 500, 'waited the grace period for the one that ignores SIGTERM');
    await exited;
    await new Promise((r) => setTimeout(r, 50)); // our own child is reaped by the event loop
    assert.deepEqual(pidsInNetns(inodes), []);
    assert.deepEqual(
      inside.filter((p) => alive(p)),
      [],
    );
    assert.ok(!Lab.list().some((l) => l.name === lab));
  });

  it('does not wait the grace period when every process exits on SIGTERM', async () => {
    const file = topologyFile(`name: ${lab}
prefix: ${prefix}
topology:
  nodes:
    a: { exec: ["sleep 1006 &"] }
`);
    await (await Lab.load(file, { hostNetns: sandbox })).up();
    const t = performance.now();
    const r = nslab(['down', lab, '--grace', '5']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(performance.now() - t < 4000);
    assert.match(r.stdout, /stopped 1 process: sleep \(a\)/);
  });
});
