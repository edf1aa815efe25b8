/**
 * The bad-input corpus through the built CLI, as a user meets it: `nslab up FILE --host-netns SANDBOX` for every
 * file of test/topology/corpus/files (and for a FIFO, a directory, a device and a file over 64 MB), several
 * processes at once. Each must exit 2 within 2 s of its own CPU time (the machine is shared: wall time also
 * counts the others' work; a run that blocks is caught by a wall-clock limit), name the place of its problem
 * (`file:line:col`) where there is one, print no stack trace, and create nothing: no namespace of the labs (all
 * named nslab-t-corpus-...), nothing in the sandbox but lo, no ledger.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, makeSandbox, removeSandbox } from '../helpers/cli.js';
import { ipJson, ipNetnsList, skipUnlessRoot } from '../helpers/kernel.js';
import { CORPUS_DIR, expectation } from '../topology/corpus/generate.js';

/** CLI processes run at once: one per core (most of each run is Node starting, all CPU). */
const PARALLEL = availableParallelism();
const LIMIT_MS = 2000;
/** Wall-clock time after which a run is taken to block (on a FIFO, say), and killed. */
const BLOCKED_MS = 10_000;

/** Loaded first in each CLI process: writes the process's CPU time (user + system, ms) to fd 3 as it exits. */
const CPU_TIME = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => { const u = process.cpuUsage(); writeSync(3, String((u.user + u.system) / 1000)); });',
)}`;

interface Run {
  file: string;
  status: number | null;
  stderr: string;
  /** Wall-clock and CPU time of the process. */
  ms: number;
  cpuMs: number;
}

function up(file: string, sandbox: string, stateDir: string): Promise<Run> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['--import', CPU_TIME, BIN, 'up', file, '--host-netns', sandbox], {
      env: { ...process.env, NO_COLOR: '1', NSLAB_STATE_DIR: stateDir },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let cpu = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => {
      cpu += d;
    });
    // A run that blocks is ended, and fails its test by its time.
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCKED_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({
        file,
        status,
        stderr,
        ms: performance.now() - t,
        cpuMs: cpu ? Number(cpu) : Number.POSITIVE_INFINITY,
      });
    });
  });
}

async function runAll(files: string[], sandbox: string, stateDir: string): Promise<Run[]> {
  const runs: Run[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) runs.push(await up(files[next++], sandbox, stateDir));
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return runs;
}

describe('the bad-input corpus through nslab up', { skip: skipUnlessRoot }, () => {
  let sandbox: string;
  let scratch: string;
  let stateDir: string;
  before(() => {
    sandbox = makeSandbox('badfiles'); // not nslab-t-corpus-...: those are the labs' names
    scratch = mkdtempSync(join(tmpdir(), 'nslab-corpus-'));
    stateDir = join(scratch, 'state');
    mkdirSync(stateDir);
  });
  after(() => {
    const left = ipNetnsList().filter((n) => n.startsWith('nslab-t-corpus-'));
    removeSandbox(sandbox, left);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('every file exits 2 at once with its place and a sentence, and creates nothing', async (t) => {
    const files = readdirSync(CORPUS_DIR)
      .sort()
      .map((f) => join(CORPUS_DIR, f));
    const started = performance.now();
    const runs = await runAll(files, sandbox, stateDir);
    assert.equal(runs.length, files.length);
    const cpu = runs.map((r) => r.cpuMs).sort((a, b) => a - b);
    t.diagnostic(
      `${runs.length} files in ${((performance.now() - started) / 1000).toFixed(1)} s, ${PARALLEL} at once; CPU per run: median ${Math.round(cpu[cpu.length >> 1])} ms, max ${Math.round(cpu.at(-1)!)} ms`,
    );
    for (const r of runs) {
      const want = expectation(readFileSync(r.file, 'utf8'));
      const name = r.file.slice(CORPUS_DIR.length + 1);
      assert.equal(r.status, 2, `${name}: exit ${r.status}\n${r.stderr}`);
      assert.ok(
        r.stderr.includes(`${r.file}:${want.line}:${want.col}: `),
        `${name}: no ${want.line}:${want.col} in\n${r.stderr}`,
      );
      assert.match(r.stderr, want.says, name);
      assert.doesNotMatch(r.stderr, /\n\s+at |this is a bug/, `${name}: a stack trace or a bug`);
      assert.ok(r.cpuMs < LIMIT_MS, `${name} took ${Math.round(r.cpuMs)} ms of CPU`);
      assert.ok(r.ms < BLOCKED_MS, `${name} blocked`);
    }
    assert.deepEqual(
      ipNetnsList().filter((n) => n.startsWith('nslab-t-corpus-')),
      [],
      'no namespace of the corpus labs',
    );
    assert.deepEqual(
      ipJson<{ ifname: string }[]>(sandbox, 'link', 'show').map((l) => l.ifname),
      ['lo'],
    );
    assert.deepEqual(readdirSync(stateDir), [], 'no ledger, no lock');
  });

  it('a FIFO, a directory, a device and a file over 64 MB exit 2 with one sentence, at once', async () => {
    const fifo = join(scratch, 'lab-fifo.nslab.yml');
    execFileSync('mkfifo', [fifo]); // nobody ever writes to it: reading it would block forever
    const dir = join(scratch, 'lab-dir.nslab.yml');
    mkdirSync(dir);
    const big = join(scratch, 'lab-big.nslab.yml');
    closeSync(openSync(big, 'w'));
    truncateSync(big, 65 * 1024 * 1024); // sparse: no disk used
    const cases: [string, RegExp][] = [
      [fifo, /it is a FIFO \(named pipe\), not a regular file/],
      [dir, /it is a directory, not a regular file/],
      ['/dev/zero', /it is a device, not a regular file/],
      [big, /it has 68157440 bytes, more than the 64 MB a topology file may have/],
    ];
    const runs = await runAll(
      cases.map(([f]) => f),
      sandbox,
      stateDir,
    );
    for (const [file, says] of cases) {
      const r = runs.find((x) => x.file === file)!;
      assert.equal(r.status, 2, `${file}: exit ${r.status}\n${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: cannot read topology file ${file}: ${says.source}`));
      assert.ok(r.cpuMs < LIMIT_MS, `${file} took ${Math.round(r.cpuMs)} ms of CPU`);
      assert.ok(r.ms < BLOCKED_MS, `${file} blocked`);
    }
    assert.deepEqual(readdirSync(stateDir), []);
  });
});
