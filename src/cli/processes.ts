/**
 * `nslab logs LAB NODE[/NAME] [-f]`: the output of a lab's named processes, from their log files in the lab's
 * directory; with `-f`, followed as it grows until Ctrl-C.
 */
import type { Command } from 'commander';
import { NslabError } from '../sys/errors.js';
import { api } from './api.js';
import { hostNetnsOption } from './core.js';
import { c, out } from './ui.js';

export function registerProcesses(program: Command): void {
  program
    .command('logs')
    .description("print the output (stdout and stderr) of a node's named processes; -f follows it")
    .argument('<lab>', 'lab name or topology file')
    .argument('<process>', 'NODE (each of its processes) or NODE/NAME')
    .option('-f, --follow', 'keep printing what the processes write, until Ctrl-C')
    .addOption(hostNetnsOption())
    .addHelpText('after', '\nExample:\n  nslab logs ospf r1/zebra\n  nslab logs ospf r1 -f')
    .action(async (target: string, which: string, o: { follow?: boolean; hostNetns?: string }) => {
      const Lab = await api();
      const { readLogTail } = await import('../apply/processes.js');
      const { followLogs, logFiles } = await import('../lab/processes.js');
      const lab = await Lab.locate(target, { hostNetns: o.hostNetns });
      const slash = which.indexOf('/');
      const [node, name] = slash < 0 ? [which, undefined] : [which.slice(0, slash), which.slice(slash + 1)];
      if (name === '') throw new NslabError(`give a process after the slash: ${node}/NAME`, 2);
      const files = logFiles(lab.topology, lab.hostNetns, node, name);
      const several = files.length > 1;
      if (!o.follow) {
        files.forEach((f, i) => {
          const text = readLogTail(f.path, 0, 64 * 1024 * 1024);
          if (several) out(`${i > 0 ? '\n' : ''}${c.bold(`==> ${node}/${f.name} <==`)}`);
          process.stdout.write(text);
        });
        return;
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const partial = new Map<string, string>();
      try {
        await followLogs(
          files,
          (n, text) => {
            if (!several) {
              process.stdout.write(text);
              return;
            }
            const lines = ((partial.get(n) ?? '') + text).split('\n');
            partial.set(n, lines.pop() ?? '');
            for (const l of lines) out(`${c.dim(`[${n}]`)} ${l}`);
          },
          { signal: ac.signal, fromStart: true },
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
