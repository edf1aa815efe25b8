import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportScript } from '../../src/plan/export.js';
import { formatOp } from '../../src/plan/format.js';
import type { Op } from '../../src/plan/types.js';
import { planUp } from '../../src/plan/up.js';
import type { ResolvedLab } from '../../src/topology/types.js';
import { bridgeLab, dualStackLab, tutorialLab } from './fixtures.js';
import { applyPlan } from './model.js';

const EMPTY = { namespaces: [], nodes: {} };

function commandLines(script: string): string[] {
  return script.split('\n').filter((l) => l !== '' && !l.startsWith('#') && l !== 'set -e');
}

/** The script's commands mapped back to the plan's ops, in script order. */
function scriptOps(lab: ResolvedLab, hostNetns: string | null): { script: string; ops: Op[]; plan: Op[] } {
  const script = exportScript(lab, { hostNetns });
  const plan = planUp(lab, EMPTY, { hostNetns }).ops;
  const byLine = new Map(plan.map((op) => [formatOp(op, { hostNetns, marks: false }), op]));
  assert.equal(byLine.size, plan.length, 'every op prints as a distinct line');
  const lines = commandLines(script);
  assert.deepEqual(
    [...lines].sort(),
    [...byLine.keys()].sort(),
    'the script holds exactly the plan’s commands',
  );
  return { script, ops: lines.map((l) => byLine.get(l)!), plan };
}

describe('exportScript', () => {
  for (const [name, make, hostNetns] of [
    ['tutorial', tutorialLab, null],
    ['tutorial in a sandbox', tutorialLab, 'nslab-t-sbx'],
    ['bridge LAN', bridgeLab, null],
    ['dual stack', dualStackLab, null],
  ] as const) {
    it(`${name}: parses with sh -n and runs in a valid order`, () => {
      const { script, ops, plan } = scriptOps(make(), hostNetns);
      assert.ok(script.startsWith('#!/bin/sh\n'));
      assert.ok(script.split('\n').includes('set -e'));
      assert.doesNotMatch(script, /alias/);
      const check = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      // Replaying in script order succeeds in the kernel model and builds what the plan order builds.
      const start = { namespaces: hostNetns ? [hostNetns] : [], nodes: {} };
      assert.deepEqual(applyPlan(start, ops), applyPlan(start, plan));
    });
  }

  it('reads like the tutorial: commented blocks per namespace, link, and node', () => {
    const script = exportScript(tutorialLab(), { hostNetns: null });
    const lines = script.split('\n');
    const at = (line: string) => {
      const i = lines.indexOf(line);
      assert.ok(i >= 0, `missing line: ${line}`);
      return i;
    };
    const order = [
      '# Create namespace ns0',
      'ip netns add ns0',
      'ip netns exec ns0 ip link set dev lo up',
      '# Create namespace ns1',
      '# Link host:veth11 <-> ns0:veth12',
      'ip link add veth11 type veth peer name veth12 netns ns0',
      'ip link set dev veth11 up',
      'ip netns exec ns0 ip link set dev veth12 up',
      '# Link host:veth21 <-> ns1:veth22',
      '# Sysctls on the host',
      'sysctl -w net.ipv4.ip_forward=1',
      '# Addresses on the host',
      'ip addr add 10.1.10.1/24 dev veth11',
      '# Addresses in ns0',
      'ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12',
      '# Routes in ns0',
      'ip netns exec ns0 ip route add 10.1.20.0/24 via 10.1.10.1 dev veth12',
      '# Routes in ns1',
      '#   ip netns del ns0',
      '#   ip netns del ns1',
    ].map(at);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    assert.match(script, /from seed\.nslab\.yml/);
    assert.match(script, /net\.ipv4\.ip_forward\); set them back by hand/);
  });

  it('names the sandbox and runs host commands in it', () => {
    const script = exportScript(tutorialLab(), { hostNetns: 'nslab-t-sbx' });
    assert.match(script, /lives in namespace nslab-t-sbx, which must exist already/);
    assert.ok(commandLines(script).includes('ip netns exec nslab-t-sbx ip addr add 10.1.10.1/24 dev veth11'));
    assert.ok(
      commandLines(script).includes(
        'ip netns exec nslab-t-sbx ip link add veth11 type veth peer name veth12 netns ns0',
      ),
    );
  });

  it('passes every word intact to ip and sysctl (run against stand-ins that log their arguments)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-plan-'));
    try {
      const log = join(dir, 'log');
      const stub = `#!/bin/sh\nprintf '%s' "$(basename "$0")" >> "${log}"\nfor a in "$@"; do printf ' [%s]' "$a" >> "${log}"; done\necho >> "${log}"\n`;
      for (const tool of ['ip', 'sysctl']) {
        writeFileSync(join(dir, tool), stub);
        chmodSync(join(dir, tool), 0o755);
      }
      const script = exportScript(bridgeLab(), { hostNetns: null });
      const run = spawnSync('sh', ['-c', script], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      assert.equal(run.status, 0, run.stderr);
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(calls.length, commandLines(script).length);
      assert.equal(calls[0], 'ip [netns] [add] [lan-sw]');
      assert.ok(
        calls.includes('ip [netns] [exec] [lan-sw] [ip] [link] [set] [dev] [p1] [master] [br0] [up]'),
      );
      assert.equal(calls.at(-1), "ip [netns] [exec] [lan-h1] [sh] [-c] [echo 'h1 up' > /dev/null]");
      assert.match(script, /# Bridge sw: an L2 switch \(br0\) inside its namespace/);
      assert.match(script, /# Commands of node h1 \(exec:\)/);
      assert.match(script, /# Create namespace lan-h1 for node h1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
