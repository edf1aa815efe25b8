import { BRIDGE_DEVICE, type ResolvedLab } from '../topology/types.js';
import { endpointKey } from './common.js';
import { formatOp } from './format.js';
import type { Op } from './types.js';
import { planUp } from './up.js';

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/**
 * A standalone `#!/bin/sh` script (with `set -e`) that builds `lab` from nothing using only `ip` and `sysctl` (and
 * `tc` for `impair:`, in its netem form: the script is written for any kernel):
 * the ops of `planUp` against an empty kernel, without ownership marks, grouped in commented blocks
 * (a namespace, a bridge, a link with both its ends, then sysctls, addresses, routes and `exec:` commands per
 * node). Blocks keep the plan's dependency order, so the script runs top to bottom.
 */
export function exportScript(lab: ResolvedLab, opts: { hostNetns: string | null }): string {
  const plan = planUp(lab, { namespaces: [], nodes: {} }, { hostNetns: opts.hostNetns });
  const ctx = { hostNetns: opts.hostNetns, marks: false };
  const nodeOf = (name: string) => lab.nodes.find((n) => n.name === name);
  const where = (name: string) => {
    const n = nodeOf(name);
    if (n?.kind === 'host') return 'on the host';
    return n?.netns && n.netns !== n.name ? `in ${n.netns} (node ${n.name})` : `in ${name}`;
  };
  const linkOf = new Map<string, number>();
  for (const l of lab.links)
    for (const e of l.endpoints) linkOf.set(endpointKey(e.node, e.interface), l.index);

  const blocks = new Map<string, { title: string; lines: string[] }>();
  const section = (op: Op): [string, string] => {
    const link = 'name' in op ? linkOf.get(endpointKey(op.node, op.name)) : undefined;
    switch (op.op) {
      case 'netns-add':
        return [
          `ns:${op.node}`,
          `Create namespace ${op.ns}${op.ns !== op.node ? ` for node ${op.node}` : ''}`,
        ];
      case 'bridge-add':
        return [`br:${op.node}`, `Bridge ${op.node}: an L2 switch (${op.name}) inside its namespace`];
      case 'veth-add':
      case 'link-set': {
        if (op.op === 'link-set' && op.name === 'lo') return [`ns:${op.node}`, `Loopback ${where(op.node)}`];
        if (op.op === 'link-set' && op.name === BRIDGE_DEVICE && nodeOf(op.node)?.kind === 'bridge') {
          return [`br:${op.node}`, `Bridge ${op.node}`];
        }
        const l = lab.links.find((x) => x.index === link);
        const ends = l?.endpoints.map((e) => `${e.node}:${e.interface}`).join(' <-> ');
        return [`link:${link}`, `Link ${ends ?? `${op.node}:${op.name}`}`];
      }
      case 'sysctl-set':
        return [`sysctl:${op.node}`, `Sysctls ${where(op.node)}`];
      case 'addr-add':
      case 'addr-del':
        return [`addr:${op.node}`, `Addresses ${where(op.node)}`];
      case 'route-add':
      case 'route-replace':
      case 'route-del':
        return [`route:${op.node}`, `Routes ${where(op.node)}`];
      case 'exec':
        return [`exec:${op.node}`, `Commands of node ${op.node} (exec:)`];
      case 'process-start':
      case 'process-stop': {
        const view = nodeOf(op.node)?.files ? ', without its view of files: and private:' : '';
        return [`proc:${op.node}`, `Processes of node ${op.node} (processes:${view})`];
      }
      case 'qdisc-replace':
      case 'qdisc-del':
      case 'nft-loss-add':
      case 'nft-chain-del':
      case 'nft-partition':
      case 'nft-table-del':
        return [`impair:${op.node}`, `Impairments ${where(op.node)} (impair:)`];
      default:
        return [`other:${op.op}:${op.node}`, `${op.op} ${where(op.node)}`];
    }
  };
  for (const op of plan.ops) {
    const [key, title] = section(op);
    let block = blocks.get(key);
    if (!block) {
      block = { title: oneLine(title), lines: [] };
      blocks.set(key, block);
    }
    block.lines.push(formatOp(op, ctx));
  }

  const head = [
    '#!/bin/sh',
    `# Lab "${oneLine(lab.name)}"${lab.file ? ` from ${oneLine(lab.file)}` : ''}, written out by nslab as plain ip(8) and sysctl(8) commands.`,
    '# Run it as root on a machine where none of it exists yet; it stops at the first command that fails.',
  ];
  if (opts.hostNetns !== null) {
    head.push(
      `# The host side of the lab lives in namespace ${oneLine(opts.hostNetns)}, which must exist already.`,
    );
  }
  head.push('set -e');
  const body = [...blocks.values()].map((b) => [`# ${b.title}`, ...b.lines].join('\n'));

  const namespaces = plan.ops.flatMap((o) => (o.op === 'netns-add' && o.ns ? [o.ns] : []));
  const hostSysctls = plan.ops.flatMap((o) => (o.op === 'sysctl-set' && o.ns === null ? [o.key] : []));
  const tail = [
    '# To remove the lab: deleting a namespace also deletes the veth ends in it, and their peers.',
  ];
  for (const ns of namespaces) tail.push(`#   ip netns del ${ns}`);
  if (hostSysctls.length > 0) {
    tail.push(
      `# The host keeps the sysctls set above (${hostSysctls.join(', ')}); set them back by hand if needed.`,
    );
  }
  return `${[head.join('\n'), ...body, tail.join('\n')].join('\n\n')}\n`;
}
