import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NslabError } from '../../src/sys/errors.js';
import { loadTopology } from '../../src/topology/load.js';
import { MAX_TOPOLOGY_BYTES } from '../../src/topology/read.js';
import { SEED } from './fixtures.js';

describe('reading a topology file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nslab-read-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** loadTopology's refusal: exit code 2 and its sentence, within `ms`. */
  async function refusal(path: string, ms = 500): Promise<string> {
    const t = performance.now();
    let message = '';
    await assert.rejects(loadTopology(path), (e: NslabError) => {
      assert.equal(e.exitCode, 2);
      message = e.message;
      return true;
    });
    assert.ok(performance.now() - t < ms, `${path} took ${performance.now() - t} ms`);
    return message;
  }

  it('reads a regular file', async () => {
    const file = join(dir, 'seed.nslab.yml');
    writeFileSync(file, SEED);
    assert.equal((await loadTopology(file)).name, 'seed');
  });

  it('refuses a FIFO at once, without opening it for long (no writer ever comes)', async () => {
    const fifo = join(dir, 'fifo.nslab.yml');
    execFileSync('mkfifo', [fifo]);
    assert.equal(
      await refusal(fifo),
      `cannot read topology file ${fifo}: it is a FIFO (named pipe), not a regular file`,
    );
  });

  it('refuses a directory and a device', async () => {
    const sub = join(dir, 'dir.nslab.yml');
    mkdirSync(sub);
    assert.equal(
      await refusal(sub),
      `cannot read topology file ${sub}: it is a directory, not a regular file`,
    );
    assert.equal(
      await refusal('/dev/zero'),
      'cannot read topology file /dev/zero: it is a device, not a regular file',
    );
  });

  it('refuses a file over 64 MB before reading it', async () => {
    const big = join(dir, 'big.nslab.yml');
    closeSync(openSync(big, 'w'));
    truncateSync(big, MAX_TOPOLOGY_BYTES + 1); // sparse
    assert.equal(
      await refusal(big),
      `cannot read topology file ${big}: it has ${MAX_TOPOLOGY_BYTES + 1} bytes, more than the 64 MB a topology file may have`,
    );
  });

  it('says when a file does not exist', async () => {
    assert.match(await refusal(join(dir, 'missing.yml')), /cannot read topology file .*missing\.yml: ENOENT/);
  });
});
