#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (through tsx), one file at a time: integration
// tests create namespaces whose names are global to the machine. Afterwards it checks that no namespace made by
// a test (prefix nslab-t-) or benchmark (nslab-b-) is left, and that no process the tests started is still
// alive (this runner is their child subreaper: whatever they leave behind, detached daemons included, becomes
// its child), and fails the run if one is.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';

const PR_SET_CHILD_SUBREAPER = 36;
const prctl = koffi
  .load('libc.so.6')
  .func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
const subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;

/** Processes that are this runner's children now: what the tests left running. */
function leftProcesses() {
  let pids = [];
  try {
    pids = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
  return pids.flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      return state === 'Z' ? [] : [{ pid: Number(pid), cmd }];
    } catch {
      return [];
    }
  });
}

const only = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map((f) => join('test', String(f)))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

function leftovers() {
  try {
    const out = execFileSync('ip', ['-json', 'netns', 'list'], { encoding: 'utf8' });
    return (out.trim() ? JSON.parse(out) : []).map((n) => n.name).filter((n) => /^nslab-[tb]-/.test(n));
  } catch {
    return [];
  }
}

// The tests and every process they start (nslab commands by the hundred) run without NODE_EXTRA_CA_CERTS: Node
// parses that file at each start (0.085 s a process where it names the system's CA certificates), nothing here
// makes a TLS connection, and sudo, as users run nslab, leaves it out too.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const before = new Set(leftovers());
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
const left = leftovers().filter((n) => !before.has(n));
if (left.length > 0) {
  console.error(`\nTests left these namespaces behind: ${left.join(' ')}`);
  process.exit(1);
}
const alive = subreaper ? leftProcesses() : [];
if (alive.length > 0) {
  console.error(
    `\nTests left these processes running (now stopped): ${alive.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`,
  );
  for (const p of alive) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  process.exit(1);
}
process.exit(res.status ?? 1);
