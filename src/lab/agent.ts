/**
 * The agent of a private lab: a Node process started inside the lab's sandbox (by `nsenter`, see
 * sandbox/inside.ts) that runs the lab's operations for a caller outside, which cannot enter the sandbox's user and
 * mount namespaces itself (a multi-threaded process may not). It serves calls on fd 3 (see agent-protocol.ts)
 * until the caller closes it, or, with `--once`, one call read from its standard input.
 */
import { readFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { insideSandbox } from '../sandbox/inside.js';
import { NslabError } from '../sys/errors.js';
import {
  type AgentLab,
  decodeArgs,
  encodeError,
  encodeResult,
  type OnceRequest,
  type Reply,
  type Request,
} from './agent-protocol.js';
import { Lab } from './lab.js';
import type { NamedProcess } from './processes.js';

/** The methods a caller may call: the lab's own operations, nothing else of the object. */
const METHODS = new Set([
  'up',
  'down',
  'status',
  'observe',
  'plan',
  'ping',
  'check',
  'graph',
  'linkDown',
  'linkUp',
  'impair',
  'clearImpair',
  'partition',
  'heal',
  'play',
  'waitForReach',
  'waitForPort',
  'waitForRoute',
]);

/** What a caller outside learns of a named process (`lab.process(node, name)` of a private lab). */
export interface ProcessInfo {
  pid: number | undefined;
  running: boolean;
  logFile: string;
}

/** The calls on a named process: `processInfo`, `processLogs`, `processStop`, `processStart` (node, name, ...). */
const PROCESS_METHODS: Record<string, (p: NamedProcess, args: unknown[]) => unknown> = {
  processInfo: (p): ProcessInfo => ({ pid: p.pid, running: p.running, logFile: p.logFile }),
  processLogs: (p) => p.logs(),
  processStop: (p, [opts]) => p.stop(opts as { graceMs?: number } | undefined),
  processStart: (p) => p.start(),
};

function openLab(init: AgentLab): Lab {
  const inside = insideSandbox();
  if (inside !== init.name)
    throw new NslabError(`the agent of private lab ${init.name} is not running inside that lab's sandbox`);
  return init.topology
    ? new Lab(init.topology, { hostNetns: null })
    : Lab.attach(init.name, { hostNetns: null });
}

async function call(
  lab: Lab,
  method: string,
  args: unknown[],
  emit: (callback: string, args: unknown[]) => void,
  signal: AbortSignal,
): Promise<unknown> {
  if (method === 'topology') return lab.topology;
  const onProcess = PROCESS_METHODS[method];
  if (onProcess) {
    const [node, name, ...rest] = args as [string, string, ...unknown[]];
    return encodeResult(await onProcess(lab.process(node, name), rest));
  }
  if (!METHODS.has(method)) throw new Error(`the agent has no method ${method}`);
  const fn = (lab as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
  return encodeResult(await fn.apply(lab, decodeArgs(args, emit, signal)));
}

/** One call from standard input, answered on fd 3. */
async function once(): Promise<void> {
  const req = JSON.parse(readFileSync(0, 'utf8')) as OnceRequest;
  let reply: unknown;
  try {
    const lab = openLab(req.init);
    reply = { result: await call(lab, req.method, req.args, () => {}, new AbortController().signal) };
  } catch (e) {
    reply = { error: encodeError(e) };
  }
  writeSync(3, JSON.stringify(reply));
}

/** Calls from fd 3, each answered when it ends (several may run at once); ends when the caller closes fd 3. */
function serve(): void {
  const channel = new Socket({ fd: 3, readable: true, writable: true });
  const send = (r: Reply) => channel.write(`${JSON.stringify(r)}\n`);
  const running = new Map<number, AbortController>();
  let lab: Lab | undefined;
  const handle = async (req: Request) => {
    if ('cancel' in req) {
      running.get(req.id)?.abort(req.cancel);
      return;
    }
    try {
      if ('init' in req) {
        lab = openLab(req.init);
        send({ id: req.id, result: null });
        return;
      }
      if (!lab) throw new Error('the agent was called before it was given its lab');
      const ac = new AbortController();
      running.set(req.id, ac);
      const emit = (event: string, args: unknown[]) => send({ id: req.id, event, args });
      send({ id: req.id, result: await call(lab, req.method, req.args, emit, ac.signal) });
    } catch (e) {
      send({ id: req.id, error: encodeError(e) });
    } finally {
      running.delete(req.id);
    }
  };
  createInterface({ input: channel }).on('line', (line) => {
    void handle(JSON.parse(line) as Request);
  });
  // The caller went away (or closed the lab): nothing is left to do for it.
  channel.on('end', () => {
    lab?.close();
    process.exit(0);
  });
  channel.on('error', () => process.exit(0));
}

if (process.argv.includes('--once')) await once();
else serve();
