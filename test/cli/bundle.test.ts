/**
 * The command on PATH (dist/cli/nslab.cjs) runs the CLI's bundle with V8's code cache made at build time. These
 * check what would silently cost every command its start-up if it broke: V8 takes the cache (another build's
 * is not used), the bundle is ASCII (the launcher reads it as latin1) and strict, and the command works from the
 * bundle and from the unbundled modules alike.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, nslab } from '../helpers/cli.js';

const DIR = dirname(BIN);
const BUNDLE = join(DIR, 'bundle.cjs');
const CACHE = join(DIR, 'bundle.cache');
const version = (
  JSON.parse(readFileSync(join(DIR, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** Loads the bundle through the launcher at `launcher` in a fresh Node; prints whether V8 compiled it. */
function compiledIn(launcher: string): boolean {
  const r = spawnSync(
    process.execPath,
    ['-e', `console.log(require(${JSON.stringify(launcher)}).loadBundle().compiled)`],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as boolean;
}

describe('the built command', () => {
  it('runs the bundle from its code cache, which V8 takes', () => {
    assert.equal(compiledIn(BIN), false, 'V8 rejected dist/cli/bundle.cache or it is missing: npm run build');
    const source = readFileSync(BUNDLE, 'latin1');
    const idLine = /^\/\/ nslab bundle [0-9a-f]{16}\n/.exec(source)?.[0];
    assert.ok(idLine, 'the bundle names its build on its first line');
    assert.equal(readFileSync(CACHE).subarray(0, idLine.length).toString('latin1'), idLine);
    assert.doesNotMatch(source, /[^\x00-\x7f]/, 'the bundle is ASCII');
    assert.match(source.split('\n')[2], /^'use strict';$/, 'the bundle is strict, as the modules were');
  });

  it('does not use a cache made for another build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-t-bundle-'));
    try {
      copyFileSync(BIN, join(dir, 'nslab.cjs'));
      copyFileSync(BUNDLE, join(dir, 'bundle.cjs'));
      const cache = readFileSync(CACHE);
      assert.equal(compiledIn(join(dir, 'nslab.cjs')), true, 'no cache: compiled');
      writeFileSync(join(dir, 'bundle.cache'), cache);
      assert.equal(compiledIn(join(dir, 'nslab.cjs')), false, 'the same build: the cache is taken');
      // Another build's line (same length): the data is not even given to V8.
      const other = Buffer.from(cache);
      const at = other.indexOf('bundle ') + 'bundle '.length;
      other[at] = other[at] === 0x30 ? 0x31 : 0x30;
      writeFileSync(join(dir, 'bundle.cache'), other);
      assert.equal(compiledIn(join(dir, 'nslab.cjs')), true, "another build's cache: compiled from source");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the modules, with a warning, when its bundle cannot run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-t-bundle-'));
    try {
      copyFileSync(BIN, join(dir, 'nslab.cjs'));
      writeFileSync(
        join(dir, 'bundle.cjs'),
        '// nslab bundle 0000000000000000\n(function (exports, require, {\n',
      );
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      writeFileSync(join(dir, 'bin.js'), `import ${JSON.stringify(join(DIR, 'bin.js'))};\n`);
      const r = spawnSync(process.execPath, [join(dir, 'nslab.cjs'), '--version'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
      assert.match(r.stderr, /^warning: .*bundle\.cjs cannot be run \(.*\): running the modules instead/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works from the bundle and from the modules as tsc wrote them', () => {
    const viaBundle = nslab(['--version']);
    assert.equal(viaBundle.status, 0, viaBundle.stderr);
    assert.equal(viaBundle.stdout.trim(), version);
    const r = spawnSync(process.execPath, [join(DIR, 'bin.js'), '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    // A user's mistake is a sentence and exit 2 from the bundle too, not a stack trace.
    const bad = nslab(['explain', '/nonexistent/x.nslab.yml', 'a', 'b']);
    assert.equal(bad.status, 2);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
