/**
 * Runs the built CLI (dist/cli/nslab.cjs, what `npx nslab` runs) as a user would, and makes sandbox host
 * namespaces for it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipNetnsDelete, ipNetnsList, uniqueName } from './kernel.js';

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'nslab.cjs');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `nslab ARGS...`, to completion. */
export function nslab(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `nslab ARGS...` in the background. */
export function nslabAsync(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: 'pipe' });
}

/** `nslab ARGS...` in the background, resolving with its exit code and what it printed on stdout. */
export function nslabRun(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = nslabAsync(args);
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('close', (code) => resolve({ code, out }));
  });
}

/** A new sandbox namespace to play the host (`ip netns add nslab-t-...`), with lo up. */
export function makeSandbox(tag: string): string {
  const name = uniqueName(tag);
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * Deletes the sandbox and, by exact name, the given lab namespaces if they are still there, and the ledgers and
 * locks (and directories) of labs that used the sandbox as their host (left when a test failed before its `down`).
 */
export function removeSandbox(sandbox: string, labNamespaces: string[] = []): void {
  const present = new Set(ipNetnsList());
  for (const n of labNamespaces) if (present.has(n)) ipNetnsDelete(n);
  ipNetnsDelete(sandbox);
  const dir = process.env.NSLAB_STATE_DIR ?? '/run/nslab';
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    // Also the temporary files a run killed while writing left (`+sysctls@SANDBOX.json.PID.RANDOM.tmp`).
    if (
      f.endsWith(`@${sandbox}.json`) ||
      f.endsWith(`@${sandbox}.lock`) ||
      f.endsWith(`@${sandbox}.d`) ||
      (f.endsWith('.tmp') && f.includes(`@${sandbox}.json.`))
    )
      rmSync(join(dir, f), { force: true, recursive: true });
  }
}

/** Writes a topology file in a fresh temporary directory and returns its path. */
export function topologyFile(text: string, name = 'lab.nslab.yml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-test-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
