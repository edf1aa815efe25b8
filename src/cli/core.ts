/**
 * The lab life-cycle commands: up, down, status, exec, plan, export, schema, demo.
 */
import { type Command, Option } from 'commander';
import type { DemoEvent } from '../lab/demo.js';
import type { DownResult, LabStatus } from '../lab/lab.js';
import { describeOp, formatOp } from '../plan/format.js';
import type { Op, Plan } from '../plan/types.js';
import { formatProblem } from '../topology/errors.js';
import { api, findApi, privilegeApi, tableApi } from './api.js';
import { seconds } from './args.js';
import { registerGc } from './gc.js';
import { abortable, uninterruptible } from './signals.js';
import { c, json, out, progress, warn, writeOutput } from './ui.js';

const HOST_NETNS_HELP = 'an existing namespace that plays the host instead of the real default namespace';

export function hostNetnsOption(): Option {
  return new Option('--host-netns <name>', HOST_NETNS_HELP);
}

interface CommonOpts {
  hostNetns?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

interface UpOpts extends CommonOpts {
  dryRun?: boolean;
  grace: number;
  private?: boolean;
  name?: string;
}

const SHOWN = 40;

/** Prints operations as their `ip` commands: all of them with --verbose, else at most SHOWN and a summary. */
function printOps(ops: Op[], hostNetns: string | null, verbose = false): void {
  const shown = verbose ? ops : ops.slice(0, SHOWN);
  for (const op of shown) out(`  ${c.dim('$')} ${formatOp(op, { hostNetns })}`);
  if (shown.length < ops.length) {
    const counts = new Map<string, number>();
    for (const op of ops.slice(SHOWN)) counts.set(op.op, (counts.get(op.op) ?? 0) + 1);
    const rest = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
    out(c.dim(`  ... and ${ops.length - shown.length} more (${rest}); --verbose shows them all`));
  }
}

function opsJson(plan: Plan, hostNetns: string | null) {
  return plan.ops.map((op) => ({ ...op, command: formatOp(op, { hostNetns }), description: describeOp(op) }));
}

function ms(n: number): string {
  return n < 1000 ? `${n.toFixed(0)} ms` : `${(n / 1000).toFixed(2)} s`;
}

/** `zebra (r1), ospfd (r1), ...`: processes stopped by `down`, at most a dozen named. */
function stoppedText(r: DownResult): string {
  const names = r.stopped.map((p) => `${p.process ?? p.comm} (${p.node})`);
  const shown = names.slice(0, 12).join(', ');
  return `stopped ${r.stopped.length} process${r.stopped.length === 1 ? '' : 'es'}: ${shown}${names.length > 12 ? `, and ${names.length - 12} more` : ''}`;
}

/**
 * Prints an `exec:` entry's output as it comes, under the progress line: `[node] command`, then its lines
 * indented. Nothing is printed for an entry that prints nothing.
 */
function execPrinter(bar: ReturnType<typeof progress> | undefined) {
  let current = '';
  let partial = '';
  let headed = false;
  return {
    data(node: string, command: string, text: string) {
      const id = `${node}\u0000${command}`;
      if (id !== current) {
        current = id;
        partial = '';
        headed = false;
      }
      if (text === '') return;
      bar?.clear();
      if (!headed) out(c.dim(`  [${node}] ${command}`));
      headed = true;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) out(c.dim(`    ${l}`));
    },
    end() {
      if (partial) out(c.dim(`    ${partial}`));
      partial = '';
    },
  };
}

export function registerCore(program: Command): void {
  program
    .command('up')
    .description(
      'build the lab described by FILE, or bring a running one in line with it (only the difference is applied)',
    )
    .argument('<file>', 'topology file (*.nslab.yml)')
    .addOption(hostNetnsOption())
    .option('-n, --dry-run', 'print what would change, change nothing')
    .option(
      '--private',
      "make the lab in a sandbox of its own (user, mount, pid and network namespaces): the machine's `ip netns list` does not show it, and it needs no root (what up does for other users)",
    )
    .option('--name <name>', "lab name instead of the file's (to run one file several times side by side)")
    .option(
      '--grace <seconds>',
      'how long processes in namespaces of nodes gone from the file get after SIGTERM before SIGKILL',
      seconds,
      3,
    )
    .option('-v, --verbose', 'print every operation')
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab up examples/seed.nslab.yml\n  sudo nslab up lab.nslab.yml --dry-run\n  nslab up examples/seed.nslab.yml --private --name seed-2',
    )
    .action(async (file: string, o: UpOpts) => {
      const lab = await (await api()).load(file, { hostNetns: o.hostNetns, name: o.name });
      const { commandLine, upInSandbox } = await import('./private.js');
      const inside = await upInSandbox(lab.topology, o, commandLine());
      if (inside !== undefined) {
        process.exitCode = inside;
        return;
      }
      for (const w of o.json ? [] : lab.warnings())
        warn(w.pos ? formatProblem({ pos: w.pos, message: w.message }) : w.message);
      const bar = o.json ? undefined : progress(`building ${lab.name}`);
      const printer = !o.json && !o.quiet ? execPrinter(bar) : undefined;
      const r = await abortable(`up of ${lab.name}`, (signal) =>
        lab.up({
          dryRun: o.dryRun,
          signal,
          graceMs: o.grace * 1000,
          onProgress: bar ? (d, t) => bar.update(d, t) : undefined,
          onExecData: printer?.data,
          onExecOutput: printer?.end,
        }),
      );
      for (const n of r.notes) warn(n);
      bar?.done();
      if (o.json) {
        json({
          lab: r.lab,
          changed: r.changed,
          dryRun: r.dryRun,
          durationMs: r.durationMs,
          operations: opsJson(r.plan, lab.hostNetns),
        });
        return;
      }
      if (!r.changed) {
        out(`${c.green('✔')} lab ${c.bold(r.lab)} is up to date: nothing to change`);
        return;
      }
      if (!o.quiet) printOps(r.plan.ops, lab.hostNetns, o.verbose);
      const nodes = lab.topology.nodes.filter((n) => n.kind !== 'host').length;
      const what = `${r.plan.ops.length} operations`;
      if (r.dryRun)
        out(`${c.yellow('•')} dry run: ${what} would bring lab ${c.bold(r.lab)} in line with ${file}`);
      else {
        out(
          `${c.green('✔')} lab ${c.bold(r.lab)} is up: ${what} in ${ms(r.durationMs)} (${nodes} namespaces, ${lab.topology.links.length} links)`,
        );
      }
    });

  program
    .command('down')
    .description(
      'stop the processes running in a lab, remove exactly what nslab made for it, and restore the sysctls it changed',
    )
    .argument('<lab>', 'topology file or lab name')
    .addOption(hostNetnsOption())
    .option('--grace <seconds>', 'how long processes get after SIGTERM before SIGKILL', seconds, 3)
    .option(
      '--force',
      "recover from the kernel alone (a damaged ledger): remove what carries the lab's mark and the processes in its namespaces",
    )
    .option('-v, --verbose', 'print every operation')
    .option('-q, --quiet', 'print only the summary')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab down seed\n  sudo nslab down examples/seed.nslab.yml --grace 10\n  sudo nslab down --force seed',
    )
    .action(async (target: string, o: CommonOpts & { grace: number; force?: boolean }) => {
      (await privilegeApi()).requirePrivilege();
      const { hostForDown, isFileArgument } = await findApi();
      const graceMs = o.grace * 1000;
      const { removeLab } = await import('../lab/remove.js');
      let name = target;
      let hostNetns: string | null;
      if (isFileArgument(target)) {
        const lab = await (await api()).load(target);
        name = lab.name;
      }
      // From the state files' names alone: the ledger is read once, under the lab's lock.
      hostNetns = hostForDown(name, o.hostNetns);
      const host = hostNetns;
      const r: DownResult = await uninterruptible(`down of ${name}`, () =>
        removeLab(name, host, { force: o.force, graceMs }),
      );
      for (const n of r.notes) warn(n);
      if (o.json) {
        json({
          lab: r.lab,
          changed: r.changed,
          durationMs: r.durationMs,
          operations: opsJson(r.plan, hostNetns),
          stopped: r.stopped.map((p) => ({
            pid: p.pid,
            node: p.node,
            ...(p.process !== undefined && { process: p.process }),
            command: p.command,
            signal: p.signal,
          })),
          notes: r.notes,
        });
        return;
      }
      if (!r.changed) {
        out(`lab ${c.bold(r.lab)} is not up: nothing to remove`);
        return;
      }
      if (r.stopped.length > 0) out(stoppedText(r));
      if (!o.quiet) printOps(r.plan.ops, hostNetns, o.verbose);
      out(
        `${c.green('✔')} lab ${c.bold(r.lab)} is down: ${r.plan.ops.length} operations in ${ms(r.durationMs)}`,
      );
    });

  registerGc(program);

  program
    .command('status')
    .description(
      'show the labs that are up, or one lab read back live from the kernel with its drift from the file',
    )
    .argument('[lab]', 'topology file or lab name')
    .addOption(hostNetnsOption())
    .option('--json', 'machine-readable output')
    .option('--full', `one row per interface even for labs of more than ${COMPACT_NODES} nodes`)
    .addHelpText('after', '\nExample:\n  sudo nslab status\n  sudo nslab status seed --json')
    .action(async (target: string | undefined, o: CommonOpts & { full?: boolean }) => {
      if (!target) {
        const labs = (await findApi()).listLabs();
        if (o.json) return json(labs);
        if (labs.length === 0) return out('no lab is up');
        const Table = await tableApi();
        const t = new Table({
          head: ['lab', 'host namespace', 'nodes', 'file', 'updated'],
          style: { head: [], border: [] },
        });
        for (const l of labs)
          t.push([
            l.name,
            l.private
              ? c.cyan(`private (sandbox ${l.private.holder})`)
              : l.hostNetns === null
                ? '(default)'
                : l.hostMissing
                  ? c.yellow(`${l.hostNetns} (gone)`)
                  : l.hostNetns,
            l.damaged ? c.red('damaged ledger') : l.nodes,
            l.file ?? '',
            l.updatedAt,
          ]);
        out(t.toString());
        for (const l of labs) if (l.damaged) warn(l.damaged);
        return;
      }
      const lab = await (await api()).locate(target, { hostNetns: o.hostNetns });
      const s = lab.status();
      if (o.json) return json(s);
      printStatus(s, o.full || s.nodes.length <= COMPACT_NODES ? await tableApi() : undefined);
      if (s.drift.length > 0) process.exitCode = 1;
    });

  program
    .command('exec')
    .description('run a command inside a node of a lab that is up; its exit code is passed through')
    .argument('<node>', 'node name')
    .argument('<command...>', 'command and arguments (after --)')
    .option('--lab <lab>', 'lab name or file, when several labs are up')
    .option('--timeout <seconds>', 'kill the command after this long (exit code 124)', seconds)
    .addOption(hostNetnsOption())
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab exec ns0 -- ping -c 1 10.1.20.2\n  sudo nslab exec --lab seed ns1 -- ip route',
    )
    .action(async (node: string, command: string[], o: CommonOpts & { lab?: string; timeout?: number }) => {
      const lab = await (await api()).forNode(node, { lab: o.lab, hostNetns: o.hostNetns });
      lab.node(node);
      const timeoutMs = o.timeout === undefined ? undefined : o.timeout * 1000;
      const r = await lab.exec(node, command, { stdio: 'inherit', timeoutMs });
      lab.close();
      if (r.timedOut) warn(`${command[0]} in ${node} was still running after ${o.timeout} s: killed`);
      process.exitCode = r.code;
    });

  program
    .command('plan')
    .description(
      'print the operations `up` would run, each as its ip command (as root, against the live kernel)',
    )
    .argument('<file>', 'topology file')
    .addOption(hostNetnsOption())
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  sudo nslab plan examples/seed.nslab.yml\n  nslab plan examples/seed.nslab.yml   (not root: planned against an empty kernel)',
    )
    .action(async (file: string, o: CommonOpts) => {
      const lab = await (await api()).load(file, { hostNetns: o.hostNetns });
      const live = (await privilegeApi()).privileged();
      const plan = lab.plan({ empty: !live });
      lab.close();
      if (o.json) return json({ lab: lab.name, live, operations: opsJson(plan, lab.hostNetns) });
      if (!live)
        warn(
          'not root: this is the plan against an empty kernel (run with sudo to compare with the live state)',
        );
      if (plan.ops.length === 0) return out(`lab ${c.bold(lab.name)} is up to date: nothing to change`);
      for (const op of plan.ops)
        out(`${formatOp(op, { hostNetns: lab.hostNetns })}  ${c.dim(`# ${describeOp(op)}`)}`);
    });

  program
    .command('export')
    .description('write the lab as a standalone shell script of ip and sysctl commands (or as resolved JSON)')
    .argument('<file>', 'topology file')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['sh', 'json']).default('sh'))
    .option('-o, --output <path>', 'write to a file instead of stdout')
    .addOption(hostNetnsOption())
    .addHelpText('after', '\nExample:\n  nslab export examples/seed.nslab.yml --format sh -o seed.sh')
    .action(async (file: string, o: { format: 'sh' | 'json'; output?: string; hostNetns?: string }) => {
      const lab = await (await api()).load(file, { hostNetns: o.hostNetns });
      const text = o.format === 'sh' ? lab.exportScript() : `${JSON.stringify(lab.topology, null, 2)}\n`;
      if (o.output) writeOutput(o.output, text, o.format === 'sh' ? 0o755 : 0o644);
      else process.stdout.write(text);
    });

  program
    .command('schema')
    .description('print the JSON Schema of topology files (for editor completion and checking)')
    .option('-o, --output <path>', 'write to a file instead of stdout')
    .addHelpText('after', '\nExample:\n  nslab schema -o nslab.schema.json')
    .action(async (o: { output?: string }) => {
      const { topologyJsonSchemaText } = await import('../topology/schema.js');
      if (o.output) writeOutput(o.output, topologyJsonSchemaText());
      else process.stdout.write(topologyJsonSchemaText());
    });

  program
    .command('demo')
    .description(
      "the tutorial's lab, step by step, in a throwaway namespace that plays the host; nothing on the host changes",
    )
    .addOption(hostNetnsOption())
    .addHelpText('after', '\nExample:\n  sudo nslab demo')
    .action(async (o: CommonOpts) => {
      (await privilegeApi()).requirePrivilege();
      const { runDemo } = await import('../lab/demo.js');
      await abortable('the demo', (signal) => runDemo(printDemo, { hostNetns: o.hostNetns, signal }));
    });
}

function printDemo(e: DemoEvent): void {
  switch (e.kind) {
    case 'step':
      out(`\n${c.bold(c.cyan(`== ${e.title}`))}`);
      if (e.text) out(e.text);
      return;
    case 'commands':
      for (const cmd of e.commands) out(`  ${c.dim('$')} ${cmd}`);
      return;
    case 'ping': {
      out(`  ${c.dim('$')} ${e.command}`);
      const lines = e.output
        .split('\n')
        .filter((l) => /bytes from|unreachable|Unreachable|packet loss|connect:/.test(l));
      for (const l of lines) out(`    ${e.code === 0 ? c.green(l) : c.red(l)}`);
      return;
    }
    case 'explain':
      out(c.yellow(e.text.replace(/^/gm, '  ')));
      return;
    case 'note':
      out(c.dim(e.text));
      return;
  }
}

/** Labs of more nodes than this get one line per node from `status` (`--full`: one row per interface). */
const COMPACT_NODES = 50;

/** Columns `text` takes on a terminal: colour codes take none. */
function shownLength(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** Text padded to `width` columns, as it shows. */
function padShown(text: string, width: number): string {
  const shown = shownLength(text);
  return shown >= width ? text : text + ' '.repeat(width - shown);
}

/** Rows of cells in aligned columns, two spaces apart: what a table of thousands of rows costs nothing to print. */
function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((cell, k) => {
      widths[k] = Math.max(widths[k] ?? 0, shownLength(cell));
    });
  return rows
    .map((r) =>
      r
        .map((cell, k) => (k === r.length - 1 ? cell : padShown(cell, widths[k])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** One line per node: its namespace, how many of its interfaces are up, its first addresses. */
function compactNodes(s: LabStatus): string {
  const rows = [['node', 'namespace', 'interfaces', 'addresses'].map((h) => c.bold(h))];
  for (const n of s.nodes) {
    const ns = n.netns ?? '(host)';
    if (!n.present) {
      rows.push([n.name, ns, c.red('missing'), '']);
      continue;
    }
    const down = n.interfaces.filter((i) => !i.up).length;
    const extra = n.interfaces.filter((i) => !i.declared).length;
    const ifs = [
      `${n.interfaces.length} (${down === 0 ? c.green('all up') : c.red(`${down} down`)})`,
      extra > 0 ? c.yellow(`${extra} not in file`) : '',
    ]
      .filter(Boolean)
      .join(', ');
    const addrs = n.interfaces.flatMap((i) => i.addresses);
    const shown = addrs.slice(0, 2).join(' ');
    rows.push([n.name, ns, ifs, addrs.length > 2 ? `${shown} (+${addrs.length - 2} more)` : shown]);
  }
  return columns(rows);
}

function printStatus(s: LabStatus, Table: Awaited<ReturnType<typeof tableApi>> | undefined): void {
  out(
    `lab ${c.bold(s.lab)}${s.hostNetns ? ` (host namespace ${s.hostNetns})` : ''}: ${s.deployed ? 'up' : c.yellow('not recorded as up')}`,
  );
  if (!Table) {
    out(compactNodes(s));
    out(c.dim(`(${s.nodes.length} nodes, one line each: --full for every interface)`));
  } else printInterfaces(s, Table);
  printStatusRest(s);
}

function printInterfaces(s: LabStatus, Table: Awaited<ReturnType<typeof tableApi>>): void {
  const t = new Table({
    head: ['node', 'namespace', 'interface', 'state', 'addresses'],
    style: { head: [], border: [] },
  });
  for (const n of s.nodes) {
    if (!n.present) {
      t.push([n.name, n.netns ?? '(host)', c.red('missing'), '', '']);
      continue;
    }
    if (n.interfaces.length === 0) t.push([n.name, n.netns ?? '(host)', '', '', '']);
    n.interfaces.forEach((i, k) => {
      t.push([
        k === 0 ? n.name : '',
        k === 0 ? (n.netns ?? '(host)') : '',
        i.declared ? i.name : c.yellow(`${i.name} (not in file)`),
        i.up ? c.green('up') : c.red('down'),
        i.addresses.join('\n'),
      ]);
    });
  }
  out(t.toString());
}

function printStatusRest(s: LabStatus): void {
  const routes = s.nodes.filter((n) => n.routes.length > 0);
  if (routes.length) {
    out('routes:');
    for (const n of routes) for (const r of n.routes) out(`  ${n.name}: ${r}`);
  }
  const running = s.nodes.filter((n) => n.processes.length > 0 || n.named.length > 0);
  if (running.length) {
    out('processes:');
    for (const n of running) {
      const named = new Map(n.named.flatMap((p) => (p.pid !== undefined ? [[p.pid, p.name]] : [])));
      for (const p of n.named) {
        const state = p.state === 'running' ? c.green('running') : c.yellow(p.state);
        out(
          `  ${n.name}/${p.name}: ${state}${p.pid !== undefined ? ` (pid ${p.pid})` : ''}  ${c.dim(p.command)}`,
        );
      }
      for (const p of n.processes) if (!named.has(p.pid)) out(`  ${n.name}: ${p.pid} ${p.command}`);
    }
  }
  const sysctls = s.nodes.filter((n) => Object.keys(n.sysctls).length > 0);
  if (sysctls.length) {
    out('sysctls:');
    for (const n of sysctls) for (const [k, v] of Object.entries(n.sysctls)) out(`  ${n.name}: ${k} = ${v}`);
  }
  for (const n of s.notes) warn(n);
  if (s.drift.length === 0) out(`${c.green('✔')} in line with the file`);
  else {
    out(c.yellow(`drift from the file (${s.drift.length}); \`nslab up\` would:`));
    for (const d of s.drift) out(`  - ${d}`);
  }
}
