/**
 * A Redis primary and its replica through the library, with `await using`: the lab is a spec object (no file),
 * the servers its processes (the replica finds the primary by name, through its node's /etc/hosts, and keeps its
 * data in its own /var/lib/redis); replication works; a partition stops it (the replica does not get new keys)
 * while the links stay up; healed, the replica catches up. redis-cli inside the nodes is the witness.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';

const skip = skipUnlessRoot || (!existsSync('/usr/bin/redis-server') && 'needs redis-server');

const id = process.pid;
const name = `redis${id}`;
const prefix = `nslab-t-rd${id}-`;
const ns = (n: string) => `${prefix}${n}`;

const server = '--port 6379 --protected-mode no --save "" --appendonly no --repl-diskless-sync-delay 0';

/** Polls `read` every 50 ms until it returns `want` or `ms` pass; the last value read. */
async function until(read: () => Promise<string>, want: string, ms: number): Promise<string> {
  const deadline = performance.now() + ms;
  let v = await read();
  while (v !== want && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

describe('Redis primary and replica through the library', { skip }, () => {
  let sandbox = '';
  before(() => {
    sandbox = makeSandbox('rd');
  });
  after(async () => {
    await Lab.remove(name, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(sandbox, [ns('primary'), ns('replica')]);
  });

  it('replicates; a partition stops it, the links up; healed, the replica catches up', async () => {
    let inodes: string[] = [];
    {
      await using lab = await Lab.up(
        {
          name,
          prefix,
          topology: {
            nodes: {
              primary: {
                processes: [{ name: 'redis', command: `redis-server ${server}`, ready: { tcp: 6379 } }],
              },
              replica: {
                private: ['/var/lib/redis'],
                processes: [
                  {
                    name: 'redis',
                    command: `redis-server ${server} --dir /var/lib/redis --replicaof primary 6379`,
                    ready: { log: 'MASTER <-> REPLICA sync: Finished with success' },
                    timeout: '20s',
                  },
                ],
              },
            },
            links: [{ endpoints: ['primary:e0', 'replica:e0'], ipv4: ['10.77.0.1/24', '10.77.0.2/24'] }],
          },
        },
        { hostNetns: sandbox },
      );
      inodes = ipNetnsList().filter((n) => n.startsWith(prefix));
      assert.deepEqual(inodes.sort(), [ns('primary'), ns('replica')]);
      const cli = async (node: string, ...args: string[]) => {
        const r = await lab.exec(node, ['redis-cli', ...args], { timeoutMs: 5000 });
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
      };
      const get = (key: string) => () => cli('replica', 'get', key);
      assert.equal(await cli('primary', 'set', 'k1', 'v1'), 'OK');
      assert.equal(await until(get('k1'), 'v1', 5000), 'v1');
      assert.match(await cli('replica', 'info', 'replication'), /master_link_status:up/);

      await lab.partition([['primary'], ['replica']]);
      assert.equal(await cli('primary', 'set', 'k2', 'v2'), 'OK');
      assert.equal(await until(get('k2'), 'v2', 1500), '', 'the replica got a key across the partition');
      const ping = await lab.exec('primary', ['ping', '-c', '1', '-W', '1', lab.addr('replica')]);
      assert.notEqual(ping.code, 0, 'a partition drops the traffic');
      assert.equal(lab.status().nodes.find((n) => n.name === 'replica')?.interfaces[0].up, true);

      await lab.heal();
      const t = performance.now();
      assert.equal(await until(get('k2'), 'v2', 20_000), 'v2');
      console.log(`# redis: the replica caught up ${Math.round(performance.now() - t)} ms after heal`);
      // Its data directory was the node's own: the host's /var/lib/redis never saw the full sync.
      assert.deepEqual(readdirSync('/var/lib/redis'), []);
    }
    // The block ended: the servers and the lab are gone.
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefix)),
      [],
    );
    assert.deepEqual(
      Lab.list().filter((l) => l.name === name),
      [],
    );
  });
});
