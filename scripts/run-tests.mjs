#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (through tsx), one file at a time: integration
// tests create namespaces whose names are global to the machine. Afterwards it checks that no namespace made by
// a test (prefix nslab-t-) or benchmark (nslab-b-) is left, and fails the run if one is.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

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

const before = new Set(leftovers());
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
const left = leftovers().filter((n) => !before.has(n));
if (left.length > 0) {
  console.error(`\nTests left these namespaces behind: ${left.join(' ')}`);
  process.exit(1);
}
process.exit(res.status ?? 1);
