/**
 * Runs the fault ops (root qdiscs over rtnetlink, nftables rules with `nft`) for apply's executor
 * (`ExecuteOptions.runOther`), each with the step that undoes it, and runs a list of ops of a fault verb as one
 * plan, rolled back as a whole when one fails.
 */
import { executePlan } from '../apply/execute.js';
import type { KernelSession } from '../apply/session.js';
import { NetlinkError } from '../netlink/socket.js';
import { qdiscDel, qdiscReplace } from '../netlink/tc.js';
import type { NetnsHandle } from '../netns/handle.js';
import { lossChain, nftCommands, parseLossChain } from '../plan/faults.js';
import type { FaultOp, Op, Qdisc } from '../plan/types.js';
import { NslabError } from '../sys/errors.js';
import { readQdiscs } from './observe.js';

const FAULT_KINDS = new Set<string>([
  'qdisc-replace',
  'qdisc-del',
  'nft-loss-add',
  'nft-chain-del',
  'nft-partition',
  'nft-table-del',
]);

function isFaultOp(op: Op): op is FaultOp {
  return FAULT_KINDS.has(op.op);
}

function setQdisc(h: NetnsHandle, dev: string, q: Qdisc): void {
  const index = h.indexOf(dev);
  const req =
    q.kind === 'tbf'
      ? qdiscReplace({ index, dev, kind: 'tbf', tbf: q })
      : qdiscReplace({ index, dev, kind: 'netem', netem: q });
  try {
    h.run(req);
  } catch (e) {
    if (q.kind === 'netem' && e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EOPNOTSUPP')) {
      throw new NslabError(
        `this kernel has no netem qdisc (the sch_netem module) for the impairment of ${dev}: ${e.message}`,
        1,
        { cause: e },
      );
    }
    throw e;
  }
}

/** The impairment qdisc (tbf, netem) a device has now, for undoing a change to it. */
function currentQdisc(h: NetnsHandle, dev: string): Qdisc | undefined {
  return readQdiscs(h).find((q) => q.dev === dev)?.qdisc;
}

/**
 * Runs `nft -f -` inside the namespace with the commands on its input: one transaction, all or nothing.
 * nftables' netlink interface (rule expressions, batches) is most of its size; the read side (chains, tables)
 * is done over nfnetlink directly (see src/netlink/nftables.ts).
 */
export function runNft(h: NetnsHandle, commands: string[]): void {
  const r = h.spawnSync('nft', ['-f', '-'], { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new NslabError(
      missing
        ? 'nft (nftables) is not installed: partitions, and loss on a kernel without netem, need it'
        : `cannot run nft in ${h.label}: ${r.error.message}`,
      1,
      { cause: r.error },
    );
  }
  if (r.status !== 0) {
    const text = String(r.stderr).trim().split('\n')[0] || `exit status ${r.status}`;
    throw new NslabError(`nft in ${h.label}: ${text}`);
  }
}

/** Runs one fault op; returns its undo step (undefined when it has none). For `ExecuteOptions.runOther`. */
export function runFaultOp(op: Op, session: KernelSession): (() => void) | undefined {
  if (!isFaultOp(op)) throw new NslabError(`unknown operation ${op.op}`);
  const h = session.handle(op.ns);
  switch (op.op) {
    case 'qdisc-replace': {
      const before = currentQdisc(h, op.dev);
      setQdisc(h, op.dev, op.qdisc);
      const dev = op.dev;
      return before ? () => setQdisc(h, dev, before) : () => h.run(qdiscDel({ index: h.indexOf(dev), dev }));
    }
    case 'qdisc-del': {
      const before = currentQdisc(h, op.dev);
      h.run(qdiscDel({ index: h.indexOf(op.dev), dev: op.dev }));
      const dev = op.dev;
      return before ? () => setQdisc(h, dev, before) : undefined;
    }
    case 'nft-loss-add': {
      runNft(h, nftCommands(op));
      const chain = lossChain(op.direction, op.dev, op.basisPoints);
      const undo: FaultOp = { op: 'nft-chain-del', node: op.node, ns: op.ns, table: op.table, chain };
      return () => runNft(h, nftCommands(undo));
    }
    case 'nft-chain-del': {
      runNft(h, nftCommands(op));
      const p = parseLossChain(op.chain);
      if (!p) return undefined; // partition rules are not kept: a rollback leaves them healed
      const again: FaultOp = { op: 'nft-loss-add', node: op.node, ns: op.ns, table: op.table, ...p };
      return () => runNft(h, nftCommands(again));
    }
    case 'nft-partition':
    case 'nft-table-del':
      runNft(h, nftCommands(op));
      return undefined;
  }
}

/** Runs the ops of a fault verb as one plan (rolled back as a whole on failure; ApplyError names the op). */
export async function runFaultOps(session: KernelSession, lab: string, ops: Op[]): Promise<void> {
  if (ops.length > 0) await executePlan({ lab, ops }, session, { runOther: runFaultOp });
}
