/**
 * The nslab command: parses flags, calls the library, prints. Exit codes: 0 ok, 1 a failed check or operation,
 * 2 bad input (a topology file with problems, unknown flags).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCore } from './core.js';
import { registerFaults } from './faults.js';
import { registerGraph } from './graph.js';
import { rememberCommandLine } from './private.js';
import { registerProcesses } from './processes.js';
import { registerReach } from './reach.js';
import { reportError } from './ui.js';

function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('nslab')
    .description(
      'Turn a topology file into a live Linux network-namespace lab, explain every ping that fails, and remove exactly what it made.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  sudo nslab demo                               the tutorial, step by step, in a throwaway namespace
  sudo nslab up examples/seed.nslab.yml         build (or update) the lab described by the file
  sudo nslab exec ns0 -- ping -c 1 10.1.20.2    run a command inside a node
  sudo nslab down seed                          remove exactly what nslab made

Exit codes: 0 ok, 1 a failed check or operation, 2 bad input.`,
    );
  program.exitOverride();
  registerCore(program);
  registerReach(program);
  registerGraph(program);
  registerFaults(program);
  registerProcesses(program);
  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  rememberCommandLine(argv);
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0
        ? 0
        : 2;
    }
    return reportError(e);
  }
}
