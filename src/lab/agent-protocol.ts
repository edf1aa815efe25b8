/**
 * What a private lab's agent and its caller say to each other: one JSON object a line, over a socket pair (fd 3
 * of the agent). A call names a method of `Lab` and its arguments; the options' callbacks (`onProgress`,
 * `onEvent`, ...) travel as their names and come back as events; an AbortSignal travels as a flag and its abort
 * as a `cancel`; a Buffer (a PNG) as base64; an error with its class name and fields, so that the caller gets the
 * same error types as from a lab of its own (`TopologyError` with `problems`, `ApplyError` with `command`, ...).
 */
import { ApplyError, InterruptedError } from '../apply/execute.js';
import { LedgerDamagedError } from '../apply/store.js';
import { ExplainError } from '../explain/types.js';
import { NetlinkError } from '../netlink/socket.js';
import { NetnsError } from '../netns/named.js';
import { PlanError } from '../plan/common.js';
import { ProbeError } from '../probe/types.js';
import { NslabError } from '../sys/errors.js';
import { SysError } from '../sys/libc.js';
import { TopologyError } from '../topology/errors.js';
import type { ResolvedLab } from '../topology/types.js';
import { NotUpError } from './find.js';

/** Which lab the agent serves: one resolved by the caller, or the one recorded as up under `name`. */
export interface AgentLab {
  topology?: ResolvedLab;
  name: string;
}

export type Request =
  | { id: number; init: AgentLab }
  | { id: number; method: string; args: unknown[] }
  | { id: number; cancel: string };

export type Reply =
  | { id: number; result: unknown }
  | { id: number; error: EncodedError }
  | { id: number; event: string; args: unknown[] };

/** A one-shot run (`agent --once`, for the synchronous methods): the lab and one call, answered on fd 3. */
export interface OnceRequest {
  init: AgentLab;
  method: string;
  args: unknown[];
}

interface EncodedError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
}

const CALLBACK = '__nslabCallback';
const SIGNAL = '__nslabSignal';
const BUFFER = '__nslabBuffer';

/**
 * The arguments of a call as they travel: top-level function fields of option objects become their names (the
 * agent calls back through events), an AbortSignal becomes a flag. Returns the callbacks and the signal found.
 */
export function encodeArgs(args: unknown[]): {
  args: unknown[];
  callbacks: Map<string, (...a: unknown[]) => unknown>;
  signal?: AbortSignal;
} {
  const callbacks = new Map<string, (...a: unknown[]) => unknown>();
  let signal: AbortSignal | undefined;
  const out = args.map((a) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a) || Buffer.isBuffer(a)) return a;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) {
      if (typeof v === 'function') {
        callbacks.set(k, v as (...x: unknown[]) => unknown);
        o[k] = { [CALLBACK]: k };
      } else if (v instanceof AbortSignal) {
        signal = v;
        o[k] = { [SIGNAL]: true };
      } else o[k] = v;
    }
    return o;
  });
  return { args: out, callbacks, signal };
}

/** The arguments as the agent passes them to the lab: callbacks that send events, the signal of the call. */
export function decodeArgs(
  args: unknown[],
  emit: (callback: string, args: unknown[]) => void,
  signal: AbortSignal,
): unknown[] {
  return args.map((a) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return a;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a)) {
      const marked = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
      if (marked && typeof marked[CALLBACK] === 'string') {
        const name = marked[CALLBACK] as string;
        o[k] = (...x: unknown[]) => emit(name, x);
      } else if (marked?.[SIGNAL] === true) o[k] = signal;
      else o[k] = v;
    }
    return o;
  });
}

/** A result as it travels (a Buffer as base64). */
export function encodeResult(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { [BUFFER]: value.toString('base64') } : value;
}

export function decodeResult(value: unknown): unknown {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[BUFFER] === 'string'
  )
    return Buffer.from((value as Record<string, string>)[BUFFER], 'base64');
  return value;
}

/** The error types a lab's methods throw, by name, to be given back to the caller as themselves. */
const ERRORS: Record<string, { prototype: Error }> = {
  NslabError,
  TopologyError,
  ApplyError,
  InterruptedError,
  LedgerDamagedError,
  NetlinkError,
  NetnsError,
  PlanError,
  ProbeError,
  ExplainError,
  NotUpError,
  SysError,
};

export function encodeError(e: unknown): EncodedError {
  const err = e instanceof Error ? e : new Error(String(e));
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== 'cause') fields[k] = v;
  return { name: err.name, message: err.message, fields: JSON.parse(JSON.stringify(fields)) };
}

/**
 * The error as the caller gets it: an instance of the same class (without running its constructor, whose
 * message the agent already made), with the same fields. An internal failure stays a plain Error (a bug).
 */
export function decodeError(x: EncodedError): Error {
  const proto =
    ERRORS[x.name]?.prototype ?? (x.fields.exitCode !== undefined ? NslabError.prototype : Error.prototype);
  const err = Object.create(proto) as Error;
  Object.defineProperty(err, 'message', { value: x.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', {
    value: `${x.name}: ${x.message}\n    (in the agent of a private lab)${new Error().stack?.replace(/^.*\n/, '\n') ?? ''}`,
    writable: true,
    configurable: true,
  });
  Object.assign(err, x.fields);
  err.name = x.name;
  return err;
}
