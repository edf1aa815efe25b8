/**
 * `nslab gc`: every object carrying an nslab mark that no lab's ledger owns, listed, and removed with --yes.
 */
import type { Command } from 'commander';
import type { GcResult } from '../lab/lab.js';
import { seconds } from './args.js';
import { uninterruptible } from './signals.js';
import { c, json, out, warn } from './ui.js';

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description(
      'list every object carrying an nslab mark that no lab owns (namespaces, devices), and remove them with --yes',
    )
    .option('--lab <name>', "only what carries this lab's mark")
    .option('--yes', 'remove what is listed')
    .option('--grace <seconds>', 'how long processes get after SIGTERM before SIGKILL', seconds, 3)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  sudo nslab gc\n  sudo nslab gc --lab seed --yes')
    .action(async (o: { lab?: string; yes?: boolean; grace: number; json?: boolean }) => {
      const { Lab } = await import('../lab/lab.js');
      const r = await uninterruptible('gc', () =>
        Lab.gc({ lab: o.lab, yes: o.yes, graceMs: o.grace * 1000 }),
      );
      if (o.json) return json(gcJson(r));
      printGc(r, !!o.yes);
    });
}

function gcJson(r: GcResult) {
  return {
    namespaces: r.namespaces.map((n) => ({ name: n.name, lab: n.lab, processes: n.processes })),
    devices: r.devices.map((d) => ({ netns: d.ns, name: d.name, lab: d.lab })),
    skipped: r.skipped,
    ...(r.removed
      ? {
          removed: {
            namespaces: r.removed.namespaces,
            devices: r.removed.devices.map((d) => ({ netns: d.ns, name: d.name })),
            stopped: r.removed.stopped.map((p) => ({ pid: p.pid, netns: p.node, command: p.command })),
            notes: r.removed.notes,
          },
        }
      : {}),
  };
}

function printGc(r: GcResult, removing: boolean): void {
  for (const s of r.skipped) warn(`lab ${s.lab} skipped: ${s.why}`);
  const found = r.namespaces.length + r.devices.length;
  if (found === 0) {
    out(`${c.green('✔')} nothing carries an nslab mark that no lab owns`);
    return;
  }
  for (const n of r.namespaces)
    out(
      `  namespace ${n.name} (lab ${n.lab})${n.processes ? `, ${n.processes} process${n.processes === 1 ? '' : 'es'} inside` : ''}`,
    );
  for (const d of r.devices) out(`  device ${d.name} in ${d.ns ?? 'the default namespace'} (lab ${d.lab})`);
  if (!removing) {
    out(`${found} orphan object${found === 1 ? '' : 's'}; \`nslab gc --yes\` removes them`);
    return;
  }
  const rm = r.removed!;
  for (const n of rm.notes) warn(n);
  if (rm.stopped.length) out(`stopped ${rm.stopped.length} process${rm.stopped.length === 1 ? '' : 'es'}`);
  out(
    `${c.green('✔')} removed ${rm.namespaces.length} namespace${rm.namespaces.length === 1 ? '' : 's'} and ${rm.devices.length} device${rm.devices.length === 1 ? '' : 's'}`,
  );
}
