/**
 * Interrupted and long runs: an `exec:` entry past its timeout fails with the sentence that says what to do, its
 * output streams while it runs, from a file that is never left anywhere; SIGINT during `up` rolls back and exits
 * 130; SIGTERM during `down` lets the teardown finish first; an interrupted demo removes what it made.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeSandbox, nslab, nslabAsync, removeSandbox, topologyFile } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';
import { pidsWithArg } from '../helpers/proc.js';

const STATE = process.env.NSLAB_STATE_DIR ?? '/run/nslab';

/** `nslab ARGS` in the background, with its output and the time each chunk came. */
function run(args: string[]) {
  const p = nslabAsync(args);
  const chunks: { at: number; text: string }[] = [];
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  p.stdout.on('data', (d) => {
    stdout += d;
    chunks.push({ at: performance.now() - t0, text: String(d) });
  });
  p.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  return {
    p,
    chunks,
    done,
    out: () => stdout,
    err: () => stderr,
    /** Resolves once stdout holds `text`. */
    async saw(text: string, ms = 10_000) {
      for (let t = 0; t < ms && !stdout.includes(text); t += 5) await new Promise((r) => setTimeout(r, 5));
      assert.ok(stdout.includes(text), `never printed ${text}:\n${stdout}${stderr}`);
    },
  };
}

describe('interrupted and long runs', { skip: skipUnlessRoot }, () => {
  const pid = process.pid;
  const lab = `ownint${pid}`;
  const prefix = `nslab-t-i${pid}-`;
  let sandbox = '';
  const file = (exec: string) =>
    topologyFile(`name: ${lab}
prefix: ${prefix}
topology:
  nodes:
    a: { exec: [${exec}] }
    b: {}
  links:
    - endpoints: ["host:ia", "a:eth0"]
    - endpoints: ["a:eth1", "b:eth0"]
`);
  const ours = () => ipNetnsList().filter((n) => n.startsWith(prefix));
  const hostLinks = () => ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname);
  before(() => {
    sandbox = makeSandbox('int');
  });
  afterEach(() => {
    // A test that failed half way leaves its lab: the next one starts from nothing.
    if (ours().length > 0) nslab(['down', lab, '--host-netns', sandbox, '--grace', '0']);
  });
  after(() => {
    removeSandbox(sandbox, [`${prefix}a`, `${prefix}b`]);
  });

  it('an exec: entry still running at its timeout fails, says how to run a daemon, and is rolled back', () => {
    const r = nslab(['up', file('{ command: "sleep 4001", timeout: 0.3 }'), '--host-netns', sandbox]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sleep 4001/);
    assert.match(
      r.stderr,
      /still running after 0\.3 s, so it was stopped: end a command that starts a daemon with `&`/,
    );
    assert.match(r.stderr, /rolled back/);
    assert.deepEqual(ours(), []);
    assert.deepEqual(pidsWithArg('4001'), []);
  });

  it('streams exec: output as it comes, from an unnamed file in the state directory', async () => {
    // Markers the command line itself does not hold (it is printed too).
    const up = run(['up', file('"echo A$((1+1)); sleep 0.5; echo B$((1+2))"'), '--host-netns', sandbox]);
    await up.saw('A2');
    assert.ok(!up.out().includes('B3'));
    assert.equal(await up.done, 0, up.err());
    const first = up.chunks.find((c) => c.text.includes('A2'))!.at;
    const second = up.chunks.find((c) => c.text.includes('B3'))!.at;
    assert.ok(second - first > 300, `first at ${first} ms, second at ${second} ms`);
    assert.equal(nslab(['down', lab]).status, 0);

    // The output of an entry killed with nslab: the file it writes has no name anywhere.
    const killed = run(['up', file('"echo go; exec sleep 4002"'), '--host-netns', sandbox]);
    await killed.saw('go');
    const [sleeper] = pidsWithArg('4002');
    assert.ok(sleeper, 'the entry runs');
    const out = readlinkSync(`/proc/${sleeper}/fd/1`);
    assert.match(out, new RegExp(`^${STATE}/#\\d+ \\(deleted\\)$`));
    killed.p.kill('SIGKILL');
    await killed.done;
    const d = nslab(['down', lab, '--grace', '0']);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(pidsWithArg('4002'), []);
    assert.deepEqual(ours(), []);
  });

  it('SIGINT during up stops it, rolls back what it did and exits 130 with one sentence', async () => {
    const up = run(['up', file('"echo started; sleep 4003"'), '--host-netns', sandbox]);
    await up.saw('started');
    up.p.kill('SIGINT');
    assert.equal(await up.done, 130);
    const errors = up
      .err()
      .split('\n')
      .filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, up.err());
    assert.match(
      errors[0],
      new RegExp(`interrupted \\(SIGINT\\): everything this run changed in lab ${lab} was rolled back`),
    );
    assert.deepEqual(ours(), []);
    assert.deepEqual(hostLinks(), ['lo']);
    assert.deepEqual(pidsWithArg('4003'), []);
    assert.match(nslab(['down', lab]).stdout, /not up: nothing to remove/);
  });

  it('SIGTERM during down finishes the teardown first, then exits 130', async () => {
    const up = nslab([
      'up',
      file(`"sh -c \\"trap '' TERM; exec sleep 4004\\" > /dev/null 2>&1 &"`),
      '--host-netns',
      sandbox,
    ]);
    assert.equal(up.status, 0, up.stderr);
    const down = run(['down', lab, '--grace', '1']);
    // Once it holds the lab's lock (its pid in the lock file), the teardown has begun.
    const lock = `${STATE}/${lab}@${sandbox}.lock`;
    const holds = () => {
      try {
        return readFileSync(lock, 'utf8').trim() === String(down.p.pid);
      } catch {
        return false;
      }
    };
    for (let t = 0; t < 10_000 && !holds(); t += 5) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 200));
    down.p.kill('SIGTERM');
    assert.equal(await down.done, 130, down.err());
    assert.match(down.err(), /SIGTERM: finishing down of/);
    assert.match(down.out(), new RegExp(`lab ${lab} is down`));
    assert.deepEqual(ours(), []);
    assert.deepEqual(hostLinks(), ['lo']);
    assert.deepEqual(pidsWithArg('4004'), []);
  });

  it('an interrupted demo removes its lab', async () => {
    const before = new Set(ipNetnsList());
    const demo = run(['demo', '--host-netns', sandbox]);
    await demo.saw('2. The host reaches both namespaces');
    demo.p.kill('SIGINT');
    assert.equal(await demo.done, 130, demo.out() + demo.err());
    assert.match(demo.err(), /interrupted \(SIGINT\)/);
    assert.deepEqual(
      ipNetnsList().filter((n) => !before.has(n) && /^(demo-)?ns[01]$/.test(n)),
      [],
    );
    assert.deepEqual(hostLinks(), ['lo']);
  });
});
