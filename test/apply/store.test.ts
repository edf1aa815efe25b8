/**
 * The state files: ledgers written with their own mode whatever the umask, never through a symlink, a journal
 * folded in (a last line cut short by a kill ignored), damaged ledgers named as such, and a lock the kernel
 * releases when its holder is killed. Each test works in its own state directory (NSLAB_STATE_DIR).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { heldLocks, labLocked, lockLab } from '../../src/apply/lock.js';
import { Journal, LedgerDamagedError, listRecorded, readLedger, writeLedger } from '../../src/apply/store.js';
import { ledgerAfter } from '../../src/plan/ledger.js';
import type { Ledger } from '../../src/plan/types.js';
import { tutorialLab } from '../plan/fixtures.js';

const saved = process.env.NSLAB_STATE_DIR;
let dir = '';

function ledger(lab = 'seed', hostNetns: string | null = null): Ledger {
  const topo = { ...tutorialLab(), name: lab };
  return ledgerAfter(undefined, topo, { lab, ops: [] }, { hostNetns, now: 'now' });
}

describe('state files', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-t-state-'));
    process.env.NSLAB_STATE_DIR = join(dir, 'state');
  });
  after(() => {
    if (saved === undefined) delete process.env.NSLAB_STATE_DIR;
    else process.env.NSLAB_STATE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the ledger with mode 0644 in a 0755 directory whatever the umask, and no temp file is left', () => {
    const old = process.umask(0o077);
    try {
      writeLedger(ledger('modes'));
    } finally {
      process.umask(old);
    }
    const state = process.env.NSLAB_STATE_DIR!;
    assert.equal(statSync(state).mode & 0o777, 0o755);
    assert.equal(statSync(join(state, 'modes.json')).mode & 0o777, 0o644);
    assert.deepEqual(
      readdirSync(state).filter((f) => f.includes('tmp')),
      [],
    );
    assert.equal(readLedger('modes', null)?.lab, 'modes');
  });

  it('replaces a symlink planted at the ledger path instead of writing through it, and never reads through one', () => {
    const state = process.env.NSLAB_STATE_DIR!;
    writeLedger(ledger('other'));
    const target = join(dir, 'target');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(state, 'link.json'));
    assert.throws(() => readLedger('link', null), /is a symlink/);
    writeLedger(ledger('link'));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.equal(readLedger('link', null)?.lab, 'link');
  });

  it('folds the journal in: namespaces made and deleted, exec: entries done, a last line cut short ignored', () => {
    const l = ledger('journal');
    writeLedger(l);
    const j = new Journal('journal', null);
    j.made({ name: 'ns0', dev: 4, ino: 100 });
    j.made({ name: 'ns1', dev: 4, ino: 101 });
    j.ran({ node: 'ns0', index: 0, command: 'true', ino: 100 });
    j.ran({ node: 'ns1', index: 0, command: 'true', ino: 101 });
    j.deleting('ns1');
    j.close();
    writeFileSync(join(process.env.NSLAB_STATE_DIR!, 'journal.journal'), '{"t":"ns","name":"ns', {
      flag: 'a',
    });
    const folded = readLedger('journal', null)!;
    assert.deepEqual(folded.identities, [{ name: 'ns0', dev: 4, ino: 100 }]);
    assert.deepEqual(folded.execDone, [{ node: 'ns0', index: 0, command: 'true', ino: 100 }]);
    // Writing the ledger folds the journal for good.
    writeLedger(folded);
    assert.equal(existsSync(join(process.env.NSLAB_STATE_DIR!, 'journal.journal')), false);
    assert.deepEqual(readLedger('journal', null)!.identities, [{ name: 'ns0', dev: 4, ino: 100 }]);
  });

  it('says a ledger is damaged (truncated, not JSON, a damaged journal line, an older format) and how to recover', () => {
    const state = process.env.NSLAB_STATE_DIR!;
    const text = JSON.stringify(ledger('cut'));
    writeFileSync(join(state, 'cut@sbx.json'), text.slice(0, text.length / 2));
    assert.throws(
      () => readLedger('cut', 'sbx'),
      (e: unknown) =>
        e instanceof LedgerDamagedError &&
        /is damaged: it is not valid JSON/.test(e.message) &&
        /nslab down --force cut --host-netns sbx/.test(e.message),
    );
    writeFileSync(join(state, 'empty.json'), '');
    assert.throws(() => readLedger('empty', null), /is damaged: it is empty/);
    const { version: _v, identities: _i, ...legacy } = ledger('legacy');
    writeFileSync(join(state, 'legacy.json'), JSON.stringify(legacy));
    assert.throws(() => readLedger('legacy', null), /written by an older nslab/);
    writeLedger(ledger('badjournal'));
    writeFileSync(join(state, 'badjournal.journal'), 'garbage\n{"t":"ns-del","name":"x"}\n');
    assert.throws(() => readLedger('badjournal', null), /line 1 of its journal is not readable/);
    const listed = listRecorded();
    assert.ok(listed.some((r) => r.lab === 'cut' && r.hostNetns === 'sbx' && r.damaged));
    assert.ok(listed.some((r) => r.lab === 'other' && r.ledger));
  });

  it('lets one run at a time hold a lab lock, and the next one in when it is released', async () => {
    const first = await lockLab('locked');
    assert.equal(labLocked('locked'), true);
    assert.deepEqual(heldLocks(), ['locked']);
    let second = false;
    const waiting = lockLab('locked').then((l) => {
      second = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(second, false);
    first.release();
    (await waiting).remove();
    assert.equal(second, true);
    assert.equal(labLocked('locked'), false);
  });

  it('takes over at once a lock whose holder was killed with SIGKILL, and one left as a pid file', async () => {
    const file = join(process.env.NSLAB_STATE_DIR!, 'stale.lock');
    // One process holding the lock on an fd of its own (the shell takes it on fd 9, then becomes sleep).
    const holder = spawn('sh', ['-c', `exec 9>>${file}; flock 9; exec sleep 60`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !labLocked('stale'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(labLocked('stale'), true);
    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;
    assert.ok(existsSync(file), 'the killed holder left its lock file');
    const t = performance.now();
    const lock = await lockLab('stale', 1000);
    assert.ok(performance.now() - t < 500);
    lock.remove();
    writeFileSync(file, '999999\n');
    (await lockLab('stale', 1000)).remove();
  });
});
