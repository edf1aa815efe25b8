/**
 * The bad-input corpus through the built CLI, as a user meets it: `nslab up FILE --host-netns SANDBOX` for every
 * file of test/topology/corpus/files (and for a FIFO, a directory, a device and a file over 64 MB), several
 * processes at once. Each must exit 2 within 2 s, name the place of its problem (`file:line:col`) where there is
 * one, print no stack trace, and create nothing: no namespace of the labs (all named nslab-t-corpus-...), nothing
 * in the sandbox but lo, no ledger.
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

interface Run {
  file: string;
  status: number | null;
  stderr: string;
  ms: number;
}

function up(file: string, sandbox: string, stateDir: string): Promise<Run> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, [BIN, 'up', file, '--host-netns', sandbox], {
      env: { ...process.env, NO_COLOR: '1', NSLAB_STATE_DIR: stateDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // A run that blocks (on a FIFO, say) is ended, and fails its test by its time.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * LIMIT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ file, status, stderr, ms: performance.now() - t });
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

  it('every file exits 2 at once with its place and a sentence, and creates nothing', async () => {
    const files = readdirSync(CORPUS_DIR)
      .sort()
      .map((f) => join(CORPUS_DIR, f));
    const runs = await runAll(files, sandbox, stateDir);
    assert.equal(runs.length, files.length);
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
      assert.ok(r.ms < LIMIT_MS, `${name} took ${Math.round(r.ms)} ms`);
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
      assert.ok(r.ms < LIMIT_MS, `${file} took ${Math.round(r.ms)} ms`);
    }
    assert.deepEqual(readdirSync(stateDir), []);
  });
});
