/**
 * Fault commands: `link` (an end down or up), `impair` (rate, loss, delay, jitter of an end), `partition` and
 * `heal`, `play` (the file's timeline), and `addr` (addresses for scripts).
 */
import { Argument, type Command, Option } from 'commander';
import type { FaultStatus } from '../lab/faults.js';
import type { Lab } from '../lab/lab.js';
import type { Op } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';
import type { ImpairSpec } from '../topology/faults.js';
import { api } from './api.js';
import { hostNetnsOption } from './core.js';
import { c, json, out } from './ui.js';

interface Opts {
  hostNetns?: string;
  json?: boolean;
  quiet?: boolean;
}

function printOps(lab: Lab, ops: Op[], o: Opts): void {
  if (!o.quiet) for (const op of ops) out(`  ${c.dim('$')} ${lab.command(op, false)}`);
}

function done(lab: Lab, ops: Op[], o: Opts, what: string): void {
  if (o.json) {
    json({ lab: lab.name, operations: ops.map((op) => ({ ...op, command: lab.command(op, false) })) });
    return;
  }
  printOps(lab, ops, o);
  out(`${c.green('✔')} ${what}${ops.length === 0 ? ' (nothing to change)' : ''}`);
}

function common(cmd: Command): Command {
  return cmd
    .addOption(hostNetnsOption())
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'machine-readable output');
}

/** Lines for `nslab status`: the impairments of the lab's interfaces and the nodes holding partition rules. */
export function formatFaultStatus(f: FaultStatus): string[] {
  const lines: string[] = [];
  if (f.impairments.length > 0) {
    lines.push('impairments:');
    for (const i of f.impairments) {
      const live = i.live ?? 'none';
      const note =
        i.declared === undefined ? ' (not in file)' : i.declared !== live ? ` (file: ${i.declared})` : '';
      lines.push(`  ${i.node}:${i.interface}: ${live}${note}`);
    }
  }
  if (f.partitioned.length > 0) lines.push(`partitioned: rules in ${f.partitioned.join(', ')}`);
  return lines;
}

export function registerFaults(program: Command): void {
  common(
    program
      .command('link')
      .description(
        'set one end of a link down or up (ip link set dev IF down|up): the other end sees carrier loss',
      )
      .addArgument(new Argument('<state>', 'down or up').choices(['down', 'up']))
      .argument('<lab>', 'lab name or topology file')
      .argument('<end>', 'link end NODE:IF'),
  )
    .addHelpText('after', '\nExample:\n  sudo nslab link down ospf r1:e12\n  sudo nslab link up ospf r1:e12')
    .action(async (state: 'down' | 'up', target: string, end: string, o: Opts) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      const ops = state === 'down' ? await lab.linkDown(end) : await lab.linkUp(end);
      done(lab, ops, o, `${end} is ${state}`);
    });

  common(
    program
      .command('impair')
      .description(
        'impair what leaves one end of a link: rate (tbf), loss, delay and jitter (netem; loss falls back to nftables without netem)',
      )
      .argument('<lab>', 'lab name or topology file')
      .argument('<end>', 'link end NODE:IF')
      .option('--rate <rate>', 'rate limit: 10mbit, 500kbit, 1gbit')
      .option('--loss <percent>', 'random loss: 5% (or 5)')
      .option('--delay <time>', 'added delay: 20ms (needs netem)')
      .option('--jitter <time>', 'uniform jitter around the delay: 5ms (needs netem)')
      .option('--clear', 'remove every impairment of that end'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab impair lab r1:e12 --rate 10mbit\n  sudo nslab impair lab a:e0 --loss 5%\n  sudo nslab impair lab a:e0 --clear\n\nThe end gets exactly what is given: an impairment it had before is replaced.',
    )
    .action(async (target: string, end: string, o: Opts & ImpairSpec & { clear?: boolean }) => {
      const given = [o.rate, o.loss, o.delay, o.jitter].some((v) => v !== undefined);
      if (!!o.clear === given) {
        throw new NslabError(
          o.clear ? 'give --clear alone' : 'give --rate, --loss, --delay or --jitter, or --clear',
          2,
        );
      }
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      if (o.clear) return done(lab, await lab.clearImpair(end), o, `${end} is not impaired`);
      const loss = typeof o.loss === 'string' && !o.loss.endsWith('%') ? `${o.loss}%` : o.loss;
      const spec: ImpairSpec = { rate: o.rate, loss, delay: o.delay, jitter: o.jitter };
      for (const k of Object.keys(spec) as (keyof ImpairSpec)[]) if (spec[k] === undefined) delete spec[k];
      done(lab, await lab.impair(end, spec), o, `${end} is impaired`);
    });

  common(
    program
      .command('partition')
      .description(
        'drop all traffic between nodes of different groups (nftables rules in the lab); nodes in no group keep theirs, links stay up',
      )
      .argument('<lab>', 'lab name or topology file')
      .argument('<groups...>', 'groups of comma-separated node names: a,b c'),
  )
    .addHelpText('after', '\nExample:\n  sudo nslab partition redis primary replica\n  sudo nslab heal redis')
    .action(async (target: string, groups: string[], o: Opts) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      const parsed = groups.map((g) => g.split(',').filter((n) => n !== ''));
      const ops = await lab.partition(parsed);
      done(lab, ops, o, `partitioned: ${parsed.map((g) => g.join(',')).join(' | ')}`);
    });

  common(
    program
      .command('heal')
      .description('remove every partition of a lab')
      .argument('<lab>', 'lab name or topology file'),
  )
    .addHelpText('after', '\nExample:\n  sudo nslab heal redis')
    .action(async (target: string, o: Opts) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      done(lab, await lab.heal(), o, `lab ${lab.name} is healed`);
    });

  program
    .command('addr')
    .description("print a node's (or interface's) addresses, one a line, without prefix length, for scripts")
    .argument('<lab>', 'lab name or topology file')
    .argument('<target>', 'NODE or NODE:IF')
    .addOption(new Option('-4', 'IPv4 only').conflicts('6'))
    .addOption(new Option('-6', 'IPv6 only'))
    .addOption(hostNetnsOption())
    .addHelpText('after', '\nExample:\n  redis-cli -h "$(nslab addr redis primary -4 | head -1)" ping')
    .action(async (target: string, what: string, o: { 4?: boolean; 6?: boolean; hostNetns?: string }) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      const list = lab.addrs(what, { family: o[4] ? 4 : o[6] ? 6 : undefined });
      for (const a of list) out(a);
      if (list.length === 0) process.exitCode = 1;
    });

  program
    .command('play')
    .description(
      "play the file's timeline: link, partition and impairment events at their times, each printed as it happens",
    )
    .argument('<lab>', 'topology file (or the name of a lab that is up)')
    .addOption(hostNetnsOption())
    .option('-v, --verbose', 'print the commands each event runs')
    .option('--json', 'print each event as a JSON line')
    .addHelpText('after', '\nExample:\n  sudo nslab play ospf.nslab.yml')
    .action(async (target: string, o: Opts & { verbose?: boolean }) => {
      const lab = await (await api()).open(target, { hostNetns: o.hostNetns });
      const t0 = Date.now();
      const played = await lab.play({
        onEvent: (e) => {
          if (o.json) {
            process.stdout.write(
              `${JSON.stringify({ atMs: e.atMs, elapsedMs: Math.round(e.elapsedMs), event: e.text })}\n`,
            );
            return;
          }
          out(`${c.dim(`${(e.elapsedMs / 1000).toFixed(2).padStart(6)}s`)}  ${e.text}`);
          if (o.verbose) printOps(lab, e.ops, o);
        },
      });
      if (!o.json)
        out(`${c.green('✔')} played ${played.length} event(s) in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
    });
}
