/**
 * Named processes and node views in a live lab, through the CLI as a user runs it: `up` returns once each
 * process is ready and exits while they run on; their logs; a node's private directories, files and /etc/hosts
 * seen inside it and nowhere else; `status`; a second `up` that starts only what exited; `exec --timeout`; stop
 * and start one process; the timeline's stop/start; an early exit that fails `up` with its last lines and rolls
 * back; `down` naming what it stops. Witnesses: /proc (pids, sessions, mounts), the host's files, redis-cli.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { BIN, makeSandbox, nslab, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipNetnsList, netnsExec, skipUnlessRoot } from '../helpers/kernel.js';
import { alive, netnsInode, pidsInNetns } from '../helpers/proc.js';

const skip = skipUnlessRoot || (!existsSync('/var/run/frr') && 'needs /var/run/frr (the frr package)');

const id = process.pid;
const name = `procs${id}`;
const prefix = `nslab-t-pc${id}-`;
const ns = (n: string) => `${prefix}${n}`;
const PORT = 7100 + (id % 500);

const text = `name: ${name}
prefix: ${prefix}
routing: auto
topology:
  nodes:
    a:
      processes:
        - { name: sleeper, command: sleep 1001 }
        - { name: web, command: "redis-server --port ${PORT} --save '' --appendonly no", ready: { tcp: ${PORT} } }
    b:
      private: [/var/run/frr]
      files: { /etc/frr/frr.conf: "hostname b\\n" }
      exec: ["echo setup > /var/run/frr/setup.txt"]
      processes:
        - name: talker
          command: "echo hello; cat /etc/frr/frr.conf; echo READY; exec sleep 1002"
          ready: { log: READY }
  links:
    - endpoints: ["a:e0", "b:e0"]
timeline:
  - { at: 0s, stop: a/sleeper }
  - { at: 100ms, start: a/sleeper }
`;

interface Named {
  name: string;
  state: string;
  pid?: number;
}

function named(sandbox: string): Record<string, Named> {
  const r = nslab(['status', name, '--host-netns', sandbox, '--json']);
  const s = JSON.parse(r.stdout) as { nodes: { name: string; named: Named[] }[] };
  return Object.fromEntries(s.nodes.flatMap((n) => n.named.map((p) => [`${n.name}/${p.name}`, p])));
}

/** Field `i` (1-based, as proc(5) counts) of /proc/PID/stat. */
function statField(pid: number, i: number): string {
  const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return t.slice(t.lastIndexOf(')') + 2).split(' ')[i - 3];
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('named processes and node views', { skip }, () => {
  let sandbox = '';
  let file = '';
  const hostConf = '/etc/frr/frr.conf';
  let hostConfSha = '';
  before(() => {
    sandbox = makeSandbox('pc');
    file = topologyFile(text);
    hostConfSha = sha(hostConf);
  });
  after(async () => {
    await Lab.remove(name, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(sandbox, [ns('a'), ns('b')]);
  });

  it('up returns once every process is ready, and they outlive it in their own sessions', () => {
    const r = nslab(['up', file, '--host-netns', sandbox]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`ip netns exec ${ns('a')} sh -c 'sleep 1001' &`));
    const p = named(sandbox);
    assert.deepEqual(
      Object.entries(p).map(([k, v]) => `${k} ${v.state}`),
      ['a/sleeper running', 'a/web running', 'b/talker running'],
    );
    // The CLI has exited; the processes run on, inside the lab's namespaces, each the leader of its session.
    const inA = new Set(pidsInNetns([netnsInode(ns('a'))]));
    for (const k of ['a/sleeper', 'a/web']) assert.ok(inA.has(p[k].pid!), `${k} in a`);
    assert.equal(readFileSync(`/proc/${p['a/sleeper'].pid}/comm`, 'utf8').trim(), 'sleep');
    assert.equal(statField(p['a/web'].pid!, 6), String(p['a/web'].pid), 'its own session');
    assert.equal(netnsExec(ns('a'), ['redis-cli', '-p', String(PORT), 'ping']).stdout.trim(), 'PONG');
  });

  it('logs prints what each process wrote, per process or for the node', () => {
    const one = nslab(['logs', name, 'b/talker', '--host-netns', sandbox]);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /^# nslab: \S+ start b\/talker: .*\nhello\nhostname b\nREADY\n$/);
    const node = nslab(['logs', name, 'a', '--host-netns', sandbox]);
    assert.match(node.stdout, /==> a\/sleeper <==[\s\S]*==> a\/web <==[\s\S]*Ready to accept connections/);
    assert.equal(nslab(['logs', name, 'a/nope', '--host-netns', sandbox]).status, 2);
  });

  it("the node sees its own files, private directories and the lab's /etc/hosts; the host's stay as they were", () => {
    const exec = (...cmd: string[]) =>
      nslab(['exec', '--lab', name, '--host-netns', sandbox, 'b', '--', ...cmd]);
    assert.equal(exec('cat', hostConf).stdout, 'hostname b\n');
    assert.equal(sha(hostConf), hostConfSha);
    // The exec: entry wrote into the node's private /var/run/frr, not the host's.
    assert.equal(exec('cat', '/var/run/frr/setup.txt').stdout, 'setup\n');
    assert.ok(!existsSync('/var/run/frr/setup.txt'));
    const host = statSync('/var/run/frr');
    const inside = exec('stat', '-c', '%u:%g %a', '/var/run/frr').stdout.trim();
    assert.equal(inside, `${host.uid}:${host.gid} ${(host.mode & 0o777).toString(8)}`);
    const ping = exec('ping', '-c', '1', '-W', '1', 'a');
    assert.equal(ping.status, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /PING a \(10\.200\.0\.1\)/);
    // The mounts live in the processes' mount namespace only.
    const talker = named(sandbox)['b/talker'].pid!;
    // (/var/run is /run here: the mount follows the link, as mount(8) does.)
    const bound = /nodes\/b\/private\/var\/run\/frr \S*\/run\/frr /;
    assert.match(readFileSync(`/proc/${talker}/mountinfo`, 'utf8'), bound);
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), bound);
    // Node a declares no view: its processes keep the host's mount namespace (the fast path).
    const web = named(sandbox)['a/web'].pid!;
    assert.equal(
      readFileSync(`/proc/${web}/mountinfo`, 'utf8'),
      readFileSync(`/proc/${process.pid}/mountinfo`, 'utf8'),
    );
  });

  it('status says which exited; a second up starts only that one and leaves the others alone', async () => {
    const before = named(sandbox);
    process.kill(before['a/sleeper'].pid!, 'SIGKILL');
    for (let i = 0; i < 100 && alive(before['a/sleeper'].pid!); i++)
      await new Promise((r) => setTimeout(r, 10));
    const st = nslab(['status', name, '--host-netns', sandbox]);
    assert.equal(st.status, 1, st.stdout);
    assert.match(st.stdout, /a\/sleeper: exited \(pid \d+\)/);
    assert.match(st.stdout, /- start process sleeper in a/);
    const r = nslab(['up', file, '--host-netns', sandbox, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).operations.map((o: { description: string }) => o.description),
      ['start process sleeper in a'],
    );
    const now = named(sandbox);
    assert.equal(now['a/sleeper'].state, 'running');
    assert.notEqual(now['a/sleeper'].pid, before['a/sleeper'].pid);
    assert.equal(now['a/web'].pid, before['a/web'].pid);
    assert.equal(now['b/talker'].pid, before['b/talker'].pid);
    assert.match(nslab(['up', file, '--host-netns', sandbox]).stdout, /nothing to change/);
  });

  it('exec --timeout kills the command and exits 124; lab.exec takes timeoutMs', async () => {
    const t = performance.now();
    const r = nslab([
      'exec',
      '--lab',
      name,
      '--host-netns',
      sandbox,
      '--timeout',
      '0.3',
      'a',
      '--',
      'sleep',
      '30',
    ]);
    assert.equal(r.status, 124, r.stderr);
    assert.match(r.stderr, /still running after 0.3 s: killed/);
    assert.ok(performance.now() - t < 5000);
    const lab = Lab.attach(name, { hostNetns: sandbox });
    const e = await lab.exec('b', ['sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 200 });
    assert.equal(e.code, 124);
    assert.equal(e.timedOut, true);
    const ok = await lab.exec('b', ['cat', '/etc/frr/frr.conf'], { timeoutMs: 5000 });
    assert.deepEqual([ok.code, ok.stdout], [0, 'hostname b\n']);
    lab.close();
  });

  it('one process stops and starts on its own; the timeline stops and starts it too', async () => {
    const lab = Lab.attach(name, { hostNetns: sandbox });
    const web = lab.process('a', 'web');
    const pid = web.pid!;
    await web.stop({ graceMs: 2000 });
    assert.equal(web.running, false);
    assert.ok(!alive(pid));
    assert.notEqual(netnsExec(ns('a'), ['redis-cli', '-p', String(PORT), 'ping']).stdout.trim(), 'PONG');
    await web.start();
    assert.equal(web.running, true);
    assert.notEqual(web.pid, pid);
    assert.equal(netnsExec(ns('a'), ['redis-cli', '-p', String(PORT), 'ping']).stdout.trim(), 'PONG');
    assert.match(web.logs(), /(Ready to accept connections[\s\S]*){2}/);

    const sleeper = lab.process('a', 'sleeper');
    const first = sleeper.pid!;
    const played = await lab.play();
    assert.deepEqual(
      played.map((e) => e.text),
      ['stop a/sleeper', 'start a/sleeper'],
    );
    assert.ok(!alive(first));
    assert.equal(sleeper.running, true);
    assert.throws(
      () => lab.process('a', 'nope'),
      /has no process nope on node a \(its processes: sleeper, web\)/,
    );
    lab.close();
  });

  it('nslab exec: what a call costs (20 calls of `true`), and what a view adds (lab.exec)', async () => {
    const time = (n: number, cmd: string[]) => {
      const t = performance.now();
      for (let i = 0; i < n; i++) assert.equal(spawnSync(cmd[0], cmd.slice(1)).status, 0);
      return (performance.now() - t) / n;
    };
    const cli = time(20, [
      process.execPath,
      BIN,
      'exec',
      '--lab',
      name,
      '--host-netns',
      sandbox,
      'a',
      '--',
      'true',
    ]);
    const node = time(5, [process.execPath, '-e', '0']);
    const ip = time(20, ['ip', 'netns', 'exec', ns('a'), 'true']);
    const lab = Lab.attach(name, { hostNetns: sandbox });
    const api = async (n: string) => {
      const t = performance.now();
      for (let i = 0; i < 20; i++) assert.equal((await lab.exec(n, ['true'])).code, 0);
      return (performance.now() - t) / 20;
    };
    const plain = await api('a');
    const viewed = await api('b');
    lab.close();
    console.log(
      `# nslab exec per call: ${cli.toFixed(0)} ms (node -e 0: ${node.toFixed(0)} ms); lab.exec ${plain.toFixed(1)} ms, in a node's view ${viewed.toFixed(1)} ms; ip netns exec ${ip.toFixed(1)} ms`,
    );
  });

  it('down stops every process, named as the file names them, and leaves nothing', () => {
    const inodes = [netnsInode(ns('a')), netnsInode(ns('b'))];
    const r = nslab(['down', name, '--host-netns', sandbox, '--grace', '2']);
    assert.equal(r.status, 0, r.stderr);
    const line = r.stdout.split('\n')[0];
    for (const n of ['sleeper (a)', 'web (a)', 'talker (b)']) assert.ok(line.includes(n), line);
    assert.deepEqual(pidsInNetns(inodes), []);
    assert.ok(!ipNetnsList().includes(ns('a')));
    assert.ok(!existsSync(`/run/nslab/${name}@${sandbox}.d`), 'the lab directory goes with it');
  });

  it('a process that exits before it is ready fails up with its last log lines, and up rolls back', () => {
    const bad = topologyFile(`name: ${name}x
prefix: ${prefix}x
topology:
  nodes:
    a:
      processes:
        - { name: ok, command: sleep 1003 }
        - { name: broken, command: "echo reading config; echo 'line 3: bad option' >&2; exit 3", ready: { tcp: 1 } }
`);
    const r = nslab(['up', bad, '--host-netns', sandbox]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /process broken of a exited with status 3 before it was ready; the last lines of its log \(\S+\/logs\/a\/broken\.log\):\n\s+reading config\n\s+line 3: bad option/,
    );
    assert.match(r.stderr, /everything this run changed was rolled back/);
    assert.ok(!ipNetnsList().includes(`${prefix}xa`));
    assert.ok(!existsSync(`/run/nslab/${name}x@${sandbox}.json`));
    assert.ok(!existsSync(`/run/nslab/${name}x@${sandbox}.d`));
  });
});
