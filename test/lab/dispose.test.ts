/**
 * A lab brought up by `Lab.up` is torn down whatever ends its holder: the end of an `await using` block, also when
 * the block throws; SIGTERM to the process holding it (torn down once, then exit 143); a second signal during
 * that teardown exits at once (130 for SIGINT). Named processes, `lab.spawn` children and namespaces are gone
 * afterwards, witnessed by /proc and `ip netns list`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';
import { alive } from '../helpers/proc.js';

const id = process.pid;
const HELD = join(import.meta.dirname, '..', 'helpers', 'held-lab.ts');

async function gone(pids: number[], ms = 5000): Promise<number[]> {
  const deadline = performance.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(alive);
  }
  return left;
}

/** Runs held-lab.ts; resolves with its first line once it has printed it, and its exit. */
function holder(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', HELD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, err })),
  );
  const line = new Promise<{ pids: number[]; namespaces: string[] }>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    void exited.then((e) => reject(new Error(`held-lab exited ${e.code ?? e.signal}: ${e.err}`)));
  });
  return { child, line, exited };
}

describe('Lab.up tears down whatever ends its holder', { skip: skipUnlessRoot }, () => {
  let sandbox = '';
  const labs = [`thrown${id}`, `termed${id}`, `twice${id}`];
  const prefixes = labs.map((_, i) => `nslab-t-dp${id}${i}-`);
  before(() => {
    sandbox = makeSandbox('dp');
  });
  after(async () => {
    for (const l of labs) await Lab.remove(l, { hostNetns: sandbox, graceMs: 0 });
    removeSandbox(
      sandbox,
      prefixes.flatMap((p) => [`${p}a`, `${p}b`]),
    );
  });

  it('a test that throws inside await using leaves no lab and no process', async () => {
    let pids: number[] = [];
    await assert.rejects(async () => {
      await using lab = await Lab.up(
        {
          name: labs[0],
          prefix: prefixes[0],
          topology: {
            nodes: { a: { processes: [{ name: 'srv', command: 'sleep 1011' }] }, b: {} },
            links: [{ endpoints: ['a:e0', 'b:e0'] }],
          },
        },
        { hostNetns: sandbox },
      );
      const child = lab.spawn('b', 'sleep', ['1012'], { stdio: 'ignore' });
      pids = [lab.process('a', 'srv').pid!, child.pid!];
      assert.ok(pids.every(alive));
      throw new Error('the test failed here');
    }, /the test failed here/);
    assert.deepEqual(await gone(pids, 100), []);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefixes[0])),
      [],
    );
  });

  it('SIGTERM to the process holding a lab tears it down once, then it exits 143', async () => {
    const h = holder([sandbox, labs[1], prefixes[1]]);
    const { pids, namespaces } = await h.line;
    assert.ok(pids.every(alive));
    assert.ok(namespaces.every((n) => ipNetnsList().includes(n)));
    h.child.kill('SIGTERM');
    const e = await h.exited;
    assert.equal(e.code, 143, e.err);
    assert.match(e.err, new RegExp(`SIGTERM: tearing down ${labs[1]}, then exiting`));
    assert.deepEqual(await gone(pids, 100), []);
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith(prefixes[1])),
      [],
    );
  });

  it('a second signal during the teardown exits at once', async () => {
    // A long grace: the process that ignores SIGTERM holds the teardown up, and SIGINT cuts it short.
    const h = holder([sandbox, labs[2], prefixes[2], '20000']);
    await h.line;
    h.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const t = performance.now();
    h.child.kill('SIGINT');
    const e = await h.exited;
    assert.equal(e.code, 130, e.err);
    assert.ok(performance.now() - t < 2000);
    assert.match(e.err, /SIGINT again: exiting at once/);
  });
});
