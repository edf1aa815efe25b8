/**
 * Which private lab a command line is about, decided from the command line and the records alone (before
 * anything heavy is loaded), and the records themselves: made atomically, in a directory of the user's own,
 * forgotten once their sandbox is gone. No root needed: the records here name this very process as their
 * sandbox's process 1, so that they count as running.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { privateTarget } from '../../src/cli/private.js';
import {
  createRecord,
  ensureRecordsDir,
  liveRecord,
  type PrivateRecord,
  processStart,
  userStateDir,
} from '../../src/sandbox/records.js';

const me = { pid: process.pid, start: processStart(process.pid)! };

function record(name: string, extra: Partial<PrivateRecord> = {}): PrivateRecord {
  return {
    version: 1,
    name,
    uid: process.geteuid!(),
    userns: false,
    detached: true,
    holder: me,
    init: me,
    mnt: 'mnt:[1]',
    createdAt: '',
    updatedAt: '',
    ...extra,
  };
}

describe('the private lab a command line is about', () => {
  const saved = process.env.XDG_RUNTIME_DIR;
  const dir = mkdtempSync(join(tmpdir(), 'nslab-t-prv-args-'));
  const tag = `zq${process.pid}`;
  const file = join(dir, 'lab.nslab.yml');
  before(() => {
    process.env.XDG_RUNTIME_DIR = dir;
    writeFileSync(file, 'name: x\n');
    assert.equal(createRecord(record(`${tag}-one`, { nodes: ['host', `${tag}-a`], file })), true);
    assert.equal(createRecord(record(`${tag}-two`, { nodes: ['host', `${tag}-b`, `${tag}-shared`] })), true);
    assert.equal(createRecord(record(`${tag}-three`, { nodes: [`${tag}-shared`] })), true);
  });
  after(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const target = (...argv: string[]) => privateTarget(argv)?.name;

  it('names the lab by its argument, whatever options come before it', () => {
    assert.equal(target('ping', '--timeout', '500', '--family=4', `${tag}-two`), `${tag}-two`);
    assert.equal(target('down', `${tag}-one`, '--grace', '0'), `${tag}-one`);
    assert.equal(target('link', 'down', `${tag}-two`, 'a:e0'), `${tag}-two`);
    assert.equal(target('impair', `${tag}-two`, 'a:e0', '--loss', '5%'), `${tag}-two`);
    assert.equal(target('graph', '--live', `${tag}-two`, '-f', 'dot'), `${tag}-two`);
    assert.equal(target('graph', `${tag}-two`, '--live'), `${tag}-two`);
  });

  it('finds a lab by the file it was made from', () => {
    assert.equal(target('status', file), `${tag}-one`);
  });

  it('finds the lab of a node for exec, or the one given with --lab', () => {
    assert.equal(target('exec', `${tag}-a`, '--', 'ping', '-c', '1', 'x'), `${tag}-one`);
    assert.equal(target('exec', '--lab', `${tag}-two`, `${tag}-shared`, '--', 'sh'), `${tag}-two`);
    assert.throws(
      () => target('exec', `${tag}-shared`, '--', 'sh'),
      /several labs have a node called zq\d+-shared \(zq\d+-three \(private\), zq\d+-two \(private\)\): choose one with --lab NAME/,
    );
  });

  it('is about none for what needs no lab, a lab of the machine, or a command that makes one', () => {
    assert.equal(target('graph', `${tag}-two`), undefined, 'graph without --live reads the file');
    assert.equal(target('check', `${tag}-two`, '--predict'), undefined);
    assert.equal(target('down', `${tag}-two`, '--host-netns', 'sbx'), undefined);
    assert.equal(target('status'), undefined);
    assert.equal(target('up', file), undefined, 'up decides itself, once it has read the file');
    assert.equal(target('ping', 'no-such-lab'), undefined);
    assert.equal(target('exec', 'no-such-node', '--', 'sh'), undefined);
  });

  it('forgets a record whose sandbox is gone', () => {
    const child = spawnSync('true');
    assert.equal(child.status, 0);
    const dead = { pid: child.pid!, start: 1 };
    assert.equal(createRecord(record(`${tag}-gone`, { init: dead, holder: dead })), true);
    assert.equal(liveRecord(`${tag}-gone`), undefined);
    assert.equal(existsSync(join(dir, 'nslab', 'private', `${tag}-gone.json`)), false);
  });

  it('takes a name only once: a second record of the same name is refused', () => {
    assert.equal(createRecord(record(`${tag}-one`)), false);
    assert.equal(liveRecord(`${tag}-one`)?.file, file, 'the first one stays');
  });

  it('keeps records in a directory of the user closed to others, files mode 0600', () => {
    assert.equal(userStateDir(), join(dir, 'nslab'));
    assert.equal(statSync(join(dir, 'nslab')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'nslab', 'private')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'nslab', 'private', `${tag}-one.json`)).mode & 0o777, 0o600);
  });

  it('refuses a records directory that is a symlink or open to others', () => {
    const other = mkdtempSync(join(tmpdir(), 'nslab-t-prv-args-'));
    try {
      process.env.XDG_RUNTIME_DIR = other;
      mkdirSync(join(other, 'elsewhere'));
      symlinkSync(join(other, 'elsewhere'), join(other, 'nslab'));
      assert.throws(
        () => ensureRecordsDir(),
        /is not a directory of user \d+ closed to others \(a symlink\)/,
      );
      rmSync(join(other, 'nslab'));
      mkdirSync(join(other, 'nslab'));
      chmodSync(join(other, 'nslab'), 0o777);
      assert.throws(() => ensureRecordsDir(), /mode 777/);
    } finally {
      process.env.XDG_RUNTIME_DIR = dir;
      rmSync(other, { recursive: true, force: true });
    }
  });
});
