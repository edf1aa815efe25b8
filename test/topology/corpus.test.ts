/**
 * The bad-input corpus (test/topology/corpus/files, written by corpus/generate.ts), checked in this process:
 * every file is refused with a problem at the place its first line names, in words its first line expects.
 * test/cli/corpus.test.ts runs the same files through the built CLI against a sandbox, as root.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TopologyError } from '../../src/topology/errors.js';
import { parseTopology } from '../../src/topology/load.js';
import { CORPUS_DIR, corpusFiles, expectation } from './corpus/generate.js';

describe('the bad-input corpus', () => {
  const names = readdirSync(CORPUS_DIR).sort();

  it('holds at least 150 files, exactly what corpus/generate.ts writes', () => {
    const files = corpusFiles();
    assert.ok(files.length >= 150, `${files.length} files`);
    assert.deepEqual(names, files.map((f) => f.name).sort(), 'run corpus/generate.ts');
    for (const f of files) assert.equal(readFileSync(join(CORPUS_DIR, f.name), 'utf8'), f.text, f.name);
  });

  it('every file is refused with the expected problem at its place, each in well under a second', () => {
    for (const name of names) {
      const text = readFileSync(join(CORPUS_DIR, name), 'utf8');
      const want = expectation(text);
      const t = performance.now();
      let problems: string[] = [];
      try {
        parseTopology(text, name);
        assert.fail(`${name} loaded`);
      } catch (e) {
        assert.ok(e instanceof TopologyError, `${name}: ${(e as Error).stack}`);
        problems = e.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
      }
      assert.ok(performance.now() - t < 1000, `${name} took ${performance.now() - t} ms`);
      assert.ok(
        problems.some((p) => p.startsWith(`${want.line}:${want.col}: `) && want.says.test(p)),
        `${name}: expected ${want.line}:${want.col} ${want.says}, got\n  ${problems.join('\n  ')}`,
      );
    }
  });
});
