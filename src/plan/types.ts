import type { NetemOptions, TbfOptions } from '../netlink/tc.js';
import type { ReadyCheck, ResolvedLab, ResolvedRoute } from '../topology/types.js';

/**
 * Observed kernel state, as the planner sees it. It is read by the apply layer through netlink
 * (never by shelling out) and handed to the pure planner.
 */
export interface ObservedLink {
  name: string;
  index: number;
  /** rtnetlink kind (`veth`, `bridge`, `macvlan`, `vxlan`), absent for devices without one (loopback). */
  kind?: string;
  up: boolean;
  mtu: number;
  mac?: string;
  alias?: string;
  /** Name of the master device (bridge) when enslaved. */
  master?: string;
  /** Kind of its root qdisc, as the device list tells it (`noqueue`, `tbf`). */
  qdisc?: string;
  /**
   * Set on a host device that the kernel shows to be the other end of a veth inside one of the lab's own
   * namespaces (a run killed between creating the pair and marking it leaves such an end unmarked): it is the
   * lab's although it carries no mark.
   */
  peerInLab?: boolean;
}

export interface ObservedAddr {
  dev: string;
  /** `address/prefixlen`, canonical form. */
  cidr: string;
  family: 4 | 6;
}

export interface ObservedRoute {
  /** Canonical CIDR, default as `0.0.0.0/0` or `::/0`. */
  dst: string;
  family: 4 | 6;
  via?: string;
  dev?: string;
  metric?: number;
  table: number;
  /** `kernel` for connected routes the kernel adds itself, `static` for routes added by a tool (rtm_protocol 4, boot), numbers otherwise. */
  protocol: string;
}

/** A named process of a node (`processes:`) as the ledger records it and /proc shows it. */
export interface ObservedProcess {
  name: string;
  /** The pid nslab started it as (the leader of its process group). */
  pid: number;
  /** Still that process (same start time, in the node's namespace, not a zombie). */
  running: boolean;
}

export interface ObservedNamespace {
  links: ObservedLink[];
  addrs: ObservedAddr[];
  /** Routes of the main table and of any table the desired lab names, IPv4 and IPv6, excluding local/broadcast/multicast. */
  routes: ObservedRoute[];
  /** Current values of the sysctls the desired lab or the ledger names, dotted keys. */
  sysctls: Record<string, string>;
  /** Root qdiscs of the devices (`tc qdisc show`), when the faults layer read them; unknown when absent. */
  qdiscs?: ObservedQdisc[];
  /** Chains of the lab's nftables table (`nft list table inet nslab_LAB`), when read ([] without the table). */
  nftChains?: string[];
  /** The node's named processes the ledger records, and whether each still runs. */
  processes?: ObservedProcess[];
}

/** A device's root qdisc; `qdisc` is filled in for the kinds nslab sets (tbf, netem). */
export interface ObservedQdisc {
  dev: string;
  kind: string;
  qdisc?: Qdisc;
}

/** A root qdisc nslab sets for an impairment: a token bucket for a rate, netem for delay, jitter and loss. */
export type Qdisc = ({ kind: 'tbf' } & TbfOptions) | ({ kind: 'netem' } & NetemOptions);

export interface ObservedState {
  /** Names of the named network namespaces that exist now (`ip netns list`). */
  namespaces: string[];
  /**
   * Those of them that are the lab's: the identity nslab recorded when it made them matches, and their loopback
   * carries the lab's mark. A namespace under a lab name that is not listed here is someone else's.
   */
  owned?: string[];
  /** Per node name (`host` included when the lab uses it): the state inside that node's namespace, when it exists. */
  nodes: Record<string, ObservedNamespace>;
  /** Whether this kernel has netem (sch_netem), when it was tried; unknown when absent. */
  netem?: boolean;
}

/** A namespace nslab made, with the identity it had when made (see NetnsId in netns/named.ts). */
export interface OwnedNamespace {
  name: string;
  dev: number;
  ino: number;
}

/** An `exec:` entry that ran to its end in the namespace with inode `ino` (a namespace made again runs it again). */
export interface ExecDone {
  node: string;
  index: number;
  command: string;
  /** Absent in ledgers made without a kernel (plan tests). */
  ino?: number;
}

/**
 * A named process (`processes:`) nslab started, as the ledger records it: enough to tell later, from /proc alone,
 * whether it still runs, and to signal it without ever reaching a process that reused its pid.
 */
export interface ProcessRecord {
  node: string;
  name: string;
  /** Its pid, the leader of its own session and process group (`sh -c COMMAND`, or COMMAND when sh execs it). */
  pid: number;
  /** When it started, in clock ticks after boot (`/proc/PID/stat` field 22): a reused pid has another. */
  startTime: number;
  /** Inode of the network namespace it was started in. */
  ino: number;
  command: string;
  /** Its log file (stdout and stderr, appended). */
  log: string;
  startedAt: string;
}

/**
 * What nslab owns, recorded in /run/nslab/<lab>.json (and, during a run, in the journal next to it), so that
 * `down` removes exactly that and restores what it changed. Names are intents; ownership is proven from the
 * kernel: a namespace by the identity recorded in `identities`, a host device by the lab's mark.
 */
export interface Ledger {
  /** Format of the ledger: 2 since namespaces are owned by identity. */
  version: 2;
  lab: string;
  /** Namespace that played the host (`--host-netns`), or null for the real default namespace. */
  hostNetns: string | null;
  file?: string;
  /** The lab as last applied. */
  applied: ResolvedLab;
  /** Namespaces nslab created or is about to create (namespace names). */
  namespaces: string[];
  /** Of those, the ones it made, with their identity. */
  identities: OwnedNamespace[];
  /** Interfaces nslab created in the host namespace (the host ends of veth pairs), by name. */
  hostLinks: string[];
  /** Addresses and routes nslab added in the host namespace (those inside lab namespaces go with the namespace). */
  hostAddrs: { dev: string; cidr: string }[];
  hostRoutes: ResolvedRoute[];
  /** Sysctls nslab changed, with the value they had before it first changed them. Host ones are restored by `down`. */
  sysctls: { node: string; key: string; previous: string }[];
  /** `exec:` entries that have run to their end. */
  execDone: ExecDone[];
  /** Named processes started (absent in ledgers of an nslab without `processes:`). */
  processes?: ProcessRecord[];
  createdAt: string;
  updatedAt: string;
}

/** Where an operation runs: the node name (for people) and the namespace name (null = the host namespace). */
export interface OpTarget {
  node: string;
  ns: string | null;
}

export type Op =
  /** `ip netns add NAME` */
  | ({ op: 'netns-add' } & OpTarget)
  /** `ip netns del NAME` */
  | ({ op: 'netns-del' } & OpTarget)
  /** `ip link add NAME type veth peer name PEER netns PEERNS` (issued in `ns`, peer created directly in `peer.ns`) */
  | ({
      op: 'veth-add';
      name: string;
      peer: OpTarget & { name: string };
      mtu?: number;
      mac?: string;
      peerMac?: string;
    } & OpTarget)
  /** `ip link add NAME type bridge` */
  | ({ op: 'bridge-add'; name: string } & OpTarget)
  /** `ip link del NAME` */
  | ({ op: 'link-del'; name: string } & OpTarget)
  /** `ip link set dev NAME [mtu N] [address MAC] [alias TEXT] [master BR] [up|down]` */
  | ({
      op: 'link-set';
      name: string;
      up?: boolean;
      mtu?: number;
      mac?: string;
      alias?: string;
      master?: string;
    } & OpTarget)
  /** `ip addr add CIDR dev DEV` */
  | ({ op: 'addr-add'; dev: string; cidr: string } & OpTarget)
  /** `ip addr del CIDR dev DEV` */
  | ({ op: 'addr-del'; dev: string; cidr: string } & OpTarget)
  /** `ip route add DST via GW dev DEV [metric M] [table T]` */
  | ({ op: 'route-add'; route: ResolvedRoute } & OpTarget)
  /** `ip route replace ...` */
  | ({ op: 'route-replace'; route: ResolvedRoute } & OpTarget)
  /** `ip route del DST ...` */
  | ({ op: 'route-del'; route: ResolvedRoute } & OpTarget)
  /** `sysctl -w KEY=VALUE` inside the namespace; `previous` is the value read before, for rollback and `down`. */
  | ({ op: 'sysctl-set'; key: string; value: string; previous?: string } & OpTarget)
  /**
   * A node's `exec:` command (entry `index` of its list), run with `sh -c` inside its namespace after everything
   * else; it fails when still running after `timeout` seconds (default 60).
   */
  | ({ op: 'exec'; command: string; index?: number; timeout?: number } & OpTarget)
  /**
   * A node's named process (`processes:`): `ip netns exec NS sh -c COMMAND >>LOG 2>&1 &` in a session of its own,
   * in the node's view when it has one (`files:`, `private:`), then its ready check; fails when the process exits
   * before it is ready, or is not ready after `timeoutS` seconds (default 30).
   */
  | ({
      op: 'process-start';
      name: string;
      command: string;
      ready?: ReadyCheck;
      timeoutS?: number;
    } & OpTarget)
  /** `kill -TERM -- -PID`: the process group of a named process, SIGKILL after the grace period. */
  | ({ op: 'process-stop'; name: string; pid: number } & OpTarget)
  | FaultOp;

/** Operations of impairments and partitions (planned in plan/faults.ts, run by src/faults). */
export type FaultOp =
  /** `tc qdisc replace dev DEV root tbf|netem ...` */
  | ({ op: 'qdisc-replace'; dev: string; qdisc: Qdisc } & OpTarget)
  /** `tc qdisc del dev DEV root`: the device gets its default qdisc back. */
  | ({ op: 'qdisc-del'; dev: string } & OpTarget)
  /**
   * `nft 'add chain inet TABLE loss_out_500_DEV { type filter hook postrouting priority 0; }; add rule ...
   * oifname DEV numgen random mod 100 < 5 drop'` (`in`: prerouting, iifname), the loss of a kernel without netem.
   */
  | ({
      op: 'nft-loss-add';
      table: string;
      dev: string;
      direction: 'out' | 'in';
      basisPoints: number;
    } & OpTarget)
  /** `nft 'delete chain inet TABLE CHAIN'` */
  | ({ op: 'nft-chain-del'; table: string; chain: string } & OpTarget)
  /** `nft 'add chain inet TABLE partition_in { type filter hook input priority 0; }; add rule ... ip saddr { OTHERS } drop'` */
  | ({ op: 'nft-partition'; table: string; drop: string[] } & OpTarget)
  /** `nft 'delete table inet TABLE'` */
  | ({ op: 'nft-table-del'; table: string } & OpTarget);

export type OpKind = Op['op'];

export interface Plan {
  lab: string;
  ops: Op[];
}
