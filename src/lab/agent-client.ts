/**
 * The caller's side of a private lab's agent (agent.ts): starts it inside the sandbox with `nsenter`, sends calls
 * and hands back results, events and errors (see agent-protocol.ts). The agent keeps this process alive only
 * while a call is running, so that a lab left up never keeps a test runner from exiting.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { joinCommand, sandboxEnv } from '../sandbox/inside.js';
import type { PrivateRecord } from '../sandbox/records.js';
import { NslabError } from '../sys/errors.js';
import {
  type AgentLab,
  decodeError,
  decodeResult,
  encodeArgs,
  type Reply,
  type Request,
} from './agent-protocol.js';

/**
 * How Node runs the agent: the same build as this module (through tsx when nslab runs from its sources). In the
 * CLI's bundle (dist/cli/bundle.cjs, see scripts/bundle.mjs) this module is part of the bundle, and the agent is
 * the built dist/lab/agent.js.
 */
function agentCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  let agent = join(dirname(self), ts ? 'agent.ts' : 'agent.js');
  if (!ts && !existsSync(agent)) agent = join(dirname(self), '..', 'lab', 'agent.js');
  return [process.execPath, ...(ts ? ['--import', import.meta.resolve('tsx')] : []), agent];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  callbacks: Map<string, (...a: unknown[]) => unknown>;
  cleanup: () => void;
}

export class AgentClient {
  private readonly child: ChildProcess;
  private readonly channel: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private gone: Error | undefined;

  private constructor(child: ChildProcess, name: string) {
    this.child = child;
    this.channel = child.stdio[3] as Socket;
    createInterface({ input: this.channel }).on('line', (line) => this.receive(JSON.parse(line) as Reply));
    const end = () => {
      this.gone ??= new NslabError(`the agent of private lab ${name} ended (its sandbox is gone?)`);
      for (const p of this.pending.values()) {
        p.cleanup();
        p.reject(this.gone);
      }
      this.pending.clear();
    };
    this.channel.on('close', end);
    this.channel.on('error', end);
    child.on('error', end);
    this.idle();
  }

  /** Starts the agent of the lab `lab` inside the sandbox of `r`; it is given its lab at once. */
  static start(r: PrivateRecord, lab: AgentLab): AgentClient {
    const argv = [...joinCommand(r), ...agentCommand()];
    // A session of its own: the terminal's Ctrl-C is for the caller, which may still want to take the lab down.
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      env: sandboxEnv(r),
      detached: true,
    });
    const client = new AgentClient(child, r.name);
    client.send({ id: 0, init: lab });
    return client;
  }

  private send(req: Request): void {
    this.channel.write(`${JSON.stringify(req)}\n`);
  }

  /** While no call runs, the agent does not keep this process alive. */
  private idle(): void {
    if (this.pending.size > 0) {
      this.child.ref();
      this.channel.ref();
    } else {
      this.child.unref();
      this.channel.unref();
    }
  }

  private receive(r: Reply): void {
    if (r.id === 0) {
      if ('error' in r) this.gone = decodeError(r.error);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    if ('event' in r) {
      p.callbacks.get(r.event)?.(...r.args);
      return;
    }
    this.pending.delete(r.id);
    p.cleanup();
    this.idle();
    if ('error' in r) p.reject(decodeError(r.error));
    else p.resolve(decodeResult(r.result));
  }

  /** Calls `method` of the lab inside the sandbox with `args`. */
  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    const { args: sent, callbacks, signal } = encodeArgs(args);
    return new Promise((resolve, reject) => {
      const onAbort = () => this.send({ id, cancel: String(signal?.reason ?? 'aborted') });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      const cleanup = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, { resolve, reject, callbacks, cleanup });
      this.idle();
      this.send({ id, method, args: sent });
    });
  }

  /** Ends the agent: it exits when its end of the channel closes. */
  close(): void {
    this.channel.end();
    this.child.unref();
  }
}

/**
 * One call in a one-shot agent, waited for (the synchronous methods of a private lab: `status`, `observe`,
 * `plan`). Costs a Node start inside the sandbox.
 */
export function callOnce(r: PrivateRecord, lab: AgentLab, method: string, args: unknown[]): unknown {
  const argv = [...joinCommand(r), ...agentCommand(), '--once'];
  const res = spawnSync(argv[0], argv.slice(1), {
    input: JSON.stringify({ init: lab, method, args }),
    stdio: ['pipe', 'inherit', 'inherit', 'pipe'],
    env: sandboxEnv(r),
    maxBuffer: 1 << 30,
  });
  const text = res.output?.[3]?.toString() ?? '';
  if (text === '')
    throw new NslabError(
      `the agent of private lab ${r.name} gave no answer (${res.error?.message ?? `exit code ${res.status}`})`,
    );
  const reply = JSON.parse(text) as { result: unknown } | { error: Parameters<typeof decodeError>[0] };
  if ('error' in reply) throw decodeError(reply.error);
  return decodeResult(reply.result);
}
