import type { ReadyCheck, ResolvedRoute } from '../topology/types.js';
import { MAIN_TABLE } from './common.js';
import { describeFaultOp, faultWords } from './faults.js';
import type { Op } from './types.js';

export interface FormatContext {
  /** Namespace playing the host, or null: host ops (`ns: null`) then run plainly in the current namespace. */
  hostNetns: string | null;
  /** Print the ownership alias on `ip link set` (default true); off for scripts meant for people. */
  marks?: boolean;
}

/** Quotes a word for POSIX sh when it holds anything but plainly safe characters. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function routeWords(verb: string, r: ResolvedRoute): string[] {
  const words = [
    'ip',
    ...(r.family === 6 ? ['-6'] : []),
    'route',
    verb,
    /\/0$/.test(r.dst) ? 'default' : r.dst,
  ];
  if (r.via !== undefined) words.push('via', r.via);
  if (r.dev !== undefined) words.push('dev', r.dev);
  if (r.metric !== undefined) words.push('metric', String(r.metric));
  if (r.table !== undefined && r.table !== MAIN_TABLE) words.push('table', String(r.table));
  return words;
}

/** Words `ip link add` would read as an option rather than a device name: such names get `name` before them. */
const LINK_KEYWORDS = new Set(
  'up down name index mtu address broadcast brd peer type dev link netns alias group master nomaster txqueuelen txqlen qlen numtxqueues numrxqueues arp multicast allmulticast promisc trailers dynamic carrier vf mode state xdp protodown help'.split(
    ' ',
  ),
);

/** The device name as `ip link add` must be given it. */
function nameWords(name: string): string[] {
  return LINK_KEYWORDS.has(name) ? ['name', name] : [name];
}

function linkSetWords(op: Extract<Op, { op: 'link-set' }>, marks: boolean): string[] {
  const words = ['ip', 'link', 'set', 'dev', op.name];
  if (op.mtu !== undefined) words.push('mtu', String(op.mtu));
  if (op.mac !== undefined) words.push('address', op.mac);
  if (op.alias !== undefined && marks) words.push('alias', op.alias);
  if (op.master !== undefined) words.push('master', op.master);
  if (op.up !== undefined) words.push(op.up ? 'up' : 'down');
  return words;
}

/** The command words of an op, without the `ip netns exec` prefix. */
function words(op: Op, ctx: FormatContext): string[] {
  switch (op.op) {
    case 'netns-add':
      return ['ip', 'netns', 'add', op.ns ?? op.node];
    case 'netns-del':
      return ['ip', 'netns', 'del', op.ns ?? op.node];
    case 'veth-add': {
      const w = ['ip', 'link', 'add', ...nameWords(op.name)];
      if (op.mtu !== undefined) w.push('mtu', String(op.mtu));
      if (op.mac !== undefined) w.push('address', op.mac);
      w.push('type', 'veth', 'peer', 'name', op.peer.name);
      if (op.mtu !== undefined) w.push('mtu', String(op.mtu));
      if (op.peerMac !== undefined) w.push('address', op.peerMac);
      // `netns 1` is PID 1's namespace: the default one, when that plays the host.
      if (op.peer.ns !== op.ns) w.push('netns', op.peer.ns ?? ctx.hostNetns ?? '1');
      return w;
    }
    case 'bridge-add':
      return ['ip', 'link', 'add', ...nameWords(op.name), 'type', 'bridge'];
    case 'link-del':
      return ['ip', 'link', 'del', ...(LINK_KEYWORDS.has(op.name) ? ['dev', op.name] : [op.name])];
    case 'link-set':
      return linkSetWords(op, ctx.marks !== false);
    case 'addr-add':
      return ['ip', 'addr', 'add', op.cidr, 'dev', op.dev];
    case 'addr-del':
      return ['ip', 'addr', 'del', op.cidr, 'dev', op.dev];
    case 'route-add':
      return routeWords('add', op.route);
    case 'route-replace':
      return routeWords('replace', op.route);
    case 'route-del':
      return routeWords('del', op.route);
    case 'sysctl-set':
      return ['sysctl', '-w', `${op.key}=${op.value}`];
    case 'exec':
    case 'process-start':
      return ['sh', '-c', op.command];
    case 'process-stop':
      return ['kill', '-TERM', '--', `-${op.pid}`];
    case 'qdisc-replace':
    case 'qdisc-del':
    case 'nft-loss-add':
    case 'nft-chain-del':
    case 'nft-partition':
    case 'nft-table-del':
      return faultWords(op);
  }
}

/**
 * The iproute2 / sysctl command equivalent to an op, as one shell line: `ip netns add ns0`,
 * `ip netns exec ns0 ip addr add 10.1.10.2/24 dev veth12`, `sysctl -w net.ipv4.ip_forward=1`. Ops in a namespace
 * get `ip netns exec NS`; host ops too when `ctx.hostNetns` names the namespace playing the host.
 */
export function formatOp(op: Op, ctx: FormatContext): string {
  const w = words(op, ctx);
  // A signal reaches a process from any namespace: `kill` needs no `ip netns exec`.
  const global = op.op === 'netns-add' || op.op === 'netns-del' || op.op === 'process-stop';
  const ns = global ? null : (op.ns ?? ctx.hostNetns);
  const line = (ns !== null ? ['ip', 'netns', 'exec', ns, ...w] : w).map(shellQuote).join(' ');
  return op.op === 'process-start' ? `${line} &` : line;
}

function routeText(r: ResolvedRoute): string {
  const parts = [/\/0$/.test(r.dst) ? `default (${r.dst})` : r.dst];
  if (r.via !== undefined) parts.push(`via ${r.via}`);
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`);
  if (r.metric !== undefined) parts.push(`metric ${r.metric}`);
  if (r.table !== undefined && r.table !== MAIN_TABLE) parts.push(`table ${r.table}`);
  return parts.join(' ');
}

function readyText(r: ReadyCheck): string {
  if ('exec' in r) return `"${r.exec}" succeeds`;
  if ('tcp' in r) return `port ${r.tcp} accepts connections`;
  return `its log says "${r.log}"`;
}

/** One short sentence saying what an op does, for progress lines and dry runs ("add 10.1.10.2/24 to ns0:veth12"). */
export function describeOp(op: Op): string {
  switch (op.op) {
    case 'netns-add':
      return `create namespace ${op.ns ?? op.node}`;
    case 'netns-del':
      return `delete namespace ${op.ns ?? op.node}`;
    case 'veth-add':
      return `create veth pair ${op.node}:${op.name} <-> ${op.peer.node}:${op.peer.name}`;
    case 'bridge-add':
      return `create bridge ${op.name} in ${op.node}`;
    case 'link-del':
      return `delete ${op.node}:${op.name} and its peer`;
    case 'link-set': {
      const parts: string[] = [];
      if (op.mtu !== undefined) parts.push(`mtu ${op.mtu}`);
      if (op.mac !== undefined) parts.push(`mac ${op.mac}`);
      if (op.alias !== undefined) parts.push(`alias ${op.alias}`);
      if (op.master !== undefined) parts.push(`master ${op.master}`);
      if (op.up !== undefined) parts.push(op.up ? 'up' : 'down');
      return `set ${op.node}:${op.name} ${parts.join(', ')}`;
    }
    case 'addr-add':
      return `add ${op.cidr} to ${op.node}:${op.dev}`;
    case 'addr-del':
      return `remove ${op.cidr} from ${op.node}:${op.dev}`;
    case 'route-add':
      return `add route ${routeText(op.route)} in ${op.node}`;
    case 'route-replace':
      return `replace route ${routeText(op.route)} in ${op.node}`;
    case 'route-del':
      return `delete route ${routeText(op.route)} in ${op.node}`;
    case 'sysctl-set':
      return `set ${op.key}=${op.value} in ${op.node}${op.previous !== undefined ? ` (was ${op.previous})` : ''}`;
    case 'exec':
      return `run "${op.command}" in ${op.node}`;
    case 'process-start':
      return `start process ${op.name} in ${op.node}${op.ready ? `, ready once ${readyText(op.ready)}` : ''}`;
    case 'process-stop':
      return `stop process ${op.name} in ${op.node} (pid ${op.pid})`;
    case 'qdisc-replace':
    case 'qdisc-del':
    case 'nft-loss-add':
    case 'nft-chain-del':
    case 'nft-partition':
    case 'nft-table-del':
      return describeFaultOp(op);
  }
}
