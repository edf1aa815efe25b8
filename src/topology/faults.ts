/**
 * The fault keys of a topology file: `impair:` (per link, or per link end in an endpoint mapping) and
 * `timeline:` (timed link, partition, impairment and process events), their schema, their units (tc's spelling:
 * `10mbit`, `20ms`, `5%`) and their resolution against the resolved lab. What they mean in the kernel is planned
 * in src/plan/faults.ts and applied by src/faults.
 */
import { z } from 'zod';
import type { Impairment, ImpairSpec, TimelineAction, TimelineEvent } from './impairment.js';
import { findEnd } from './lookup.js';
import type { Locate, SpecPath } from './resolve.js';
import type { TopologyFile } from './schema.js';
import type { ResolvedLab } from './types.js';
import { type Parsed, parseDuration, parseLoss, parseRate } from './units.js';

export {
  describeImpairment,
  type Impairment,
  type ImpairSpec,
  type TimelineAction,
  type TimelineEvent,
} from './impairment.js';

/** The longest delay or jitter netem is given here (a minute), and the longest time in a timeline (a day). */
const MAX_DELAY_US = 60e6;
const MAX_TIME_US = 86_400e6;

/**
 * Turns an impairment as written into one in kernel units, or the problems of its keys. `numbers` says what a
 * bare number is: in code (`api`), bit/s, a fraction and ms; in a file, only a rate may be a number (bit/s).
 */
export function parseImpairment(
  spec: ImpairSpec,
  numbers: 'api' | 'file',
): { impair: Impairment } | { problems: { key: keyof ImpairSpec; message: string }[] } {
  const problems: { key: keyof ImpairSpec; message: string }[] = [];
  const impair: Impairment = {};
  const take = <T>(key: keyof ImpairSpec, r: Parsed<T>, set: (v: T) => void) => {
    if ('problem' in r) problems.push({ key, message: r.problem });
    else set(r.value);
  };
  const ms = (v: string | number) => (typeof v === 'number' && numbers === 'api' ? `${v}ms` : v);
  if (spec.rate !== undefined) take('rate', parseRate(spec.rate), (v) => (impair.rate = v));
  if (spec.loss !== undefined) {
    const r =
      typeof spec.loss === 'number' && numbers === 'file'
        ? { problem: `must be a percentage like 5%, not ${spec.loss}` }
        : parseLoss(spec.loss);
    take('loss', r, (v) => {
      if (v > 0) impair.loss = v;
    });
  }
  if (spec.delay !== undefined)
    take('delay', parseDuration(ms(spec.delay), MAX_DELAY_US), (v) => (impair.delayUs = v));
  if (spec.jitter !== undefined) {
    take('jitter', parseDuration(ms(spec.jitter), MAX_DELAY_US), (v) => {
      if (v > 0) impair.jitterUs = v;
    });
    if (spec.delay === undefined) problems.push({ key: 'jitter', message: 'needs a delay to vary around' });
  }
  if (impair.delayUs === 0 && !impair.jitterUs) delete impair.delayUs;
  return problems.length > 0 ? { problems } : { impair };
}

// ---- schema ------------------------------------------------------------------------------------------------

const scalar = z.union([z.string(), z.number()]);

/** `impair:` as the schema checks it; units are checked (with positions) by `resolveFaults`. */
export const impairSchema = z
  .strictObject({
    rate: scalar
      .optional()
      .describe('Rate limit of what leaves the interface: 10mbit, 500kbit, 1gbit (tbf).'),
    loss: scalar
      .optional()
      .describe('Random loss: 5%, 0.5% (netem; an nftables rule where the kernel has no netem).'),
    delay: scalar.optional().describe('Added delay: 20ms, 1s (netem).'),
    jitter: scalar.optional().describe('Uniform jitter around the delay: 5ms (netem).'),
  })
  .describe(
    'What the interface does to packets leaving it (tc qdisc). On a link: both ends, so each direction once.',
  );

const name = z.string();

export const timelineEventSchema = z
  .strictObject({
    at: scalar.describe('When, from the start of `nslab play`: 0s, 2s, 1500ms.'),
    for: scalar
      .optional()
      .describe('Undo after this long: link back, partition healed, impairment back to the file.'),
    link: name.optional().describe("A link end 'node:interface' to set down or up (with state)."),
    state: z.enum(['up', 'down']).optional(),
    partition: z
      .array(z.array(name))
      .optional()
      .describe('Groups of nodes; traffic between nodes of different groups is dropped.'),
    heal: z.literal(true).optional().describe('Removes every partition.'),
    impair: name
      .optional()
      .describe("A link end 'node:interface' to impair (with rate, loss, delay, jitter or clear)."),
    rate: scalar.optional(),
    loss: scalar.optional(),
    delay: scalar.optional(),
    jitter: scalar.optional(),
    clear: z.literal(true).optional().describe('With impair: removes the impairment of that end.'),
    stop: name.optional().describe("A process 'node/name' to stop."),
    start: name.optional().describe("A process 'node/name' to start."),
  })
  .describe('One timed event of `nslab play`.');

export const timelineSchema = z
  .array(timelineEventSchema)
  .describe('Timed fault events, played by `nslab play`.');

// ---- resolution --------------------------------------------------------------------------------------------

type Fail = (path: SpecPath, message: string, key?: boolean) => void;

const ACTIONS = ['link', 'partition', 'heal', 'impair', 'stop', 'start'] as const;
const IMPAIR_KEYS = ['rate', 'loss', 'delay', 'jitter'] as const;

/** The interface `node:interface` names in the lab, or the sentence saying why there is none. */
function endOf(lab: ResolvedLab, text: string): { node: string; interface: string } | { problem: string } {
  const end = findEnd(lab, text);
  return 'problem' in end ? end : { node: end.node.name, interface: end.iface.name };
}

function impairmentAt(spec: ImpairSpec, path: SpecPath, what: string, fail: Fail): Impairment | undefined {
  const r = parseImpairment(spec, 'file');
  if ('problems' in r) {
    for (const p of r.problems) fail([...path, p.key], `'${p.key}' in ${what} ${p.message}`);
    return undefined;
  }
  return r.impair;
}

/**
 * Fills in the lab's impairments (`ResolvedInterface.impair`: the link's, overridden key by key by the
 * endpoint's) and its timeline (`ResolvedLab.timeline`), reporting every problem through `fail`. Run after the
 * interfaces are resolved; ends the resolver could not make are skipped (their problem is reported already).
 */
export function resolveFaults(spec: TopologyFile, lab: ResolvedLab, locate: Locate, fail: Fail): void {
  (spec.topology.links ?? []).forEach((link, i) => {
    const path = ['topology', 'links', i];
    const onLink = link.impair
      ? impairmentAt(link.impair, [...path, 'impair'], `the impairment of link ${i + 1}`, fail)
      : undefined;
    link.endpoints.forEach((ep, j) => {
      const own =
        typeof ep === 'string' || !ep.impair
          ? undefined
          : impairmentAt(
              ep.impair,
              [...path, 'endpoints', j, 'impair'],
              `the impairment of endpoint ${j + 1} of link ${i + 1}`,
              fail,
            );
      const impair = { ...onLink, ...own };
      if (Object.keys(impair).length === 0) return;
      const e = lab.links[i]?.endpoints[j];
      const iface = lab.nodes
        .find((n) => n.name === e?.node)
        ?.interfaces.find((x) => x.name === e?.interface && x.link === i);
      if (iface) iface.impair = impair;
    });
  });
  const events = (spec.timeline ?? []).flatMap((_, i) => resolveEvent(spec, lab, i, locate, fail));
  if (events.length > 0) lab.timeline = events;
}

function resolveEvent(
  spec: TopologyFile,
  lab: ResolvedLab,
  i: number,
  locate: Locate,
  fail: Fail,
): TimelineEvent[] {
  const e = spec.timeline![i];
  const path = ['timeline', i];
  const what = `timeline event ${i + 1}`;
  const actions = ACTIONS.filter((k) => e[k] !== undefined);
  if (actions.length !== 1) {
    fail(
      path,
      actions.length === 0
        ? `${what} does nothing: give it one of ${ACTIONS.join(', ')}`
        : `${what} does several things (${actions.join(', ')}): give each its own event`,
    );
    return [];
  }
  const kind = actions[0];
  let ok = true;
  const bad = (key: string, message: string, isKey = false) => {
    fail([...path, key], message, isKey);
    ok = false;
  };
  const at = parseDuration(e.at, MAX_TIME_US);
  if ('problem' in at) bad('at', `'at' of ${what} ${at.problem}`);
  let forMs: number | undefined;
  if (e.for !== undefined) {
    if (kind !== 'link' && kind !== 'partition' && kind !== 'impair') {
      bad(
        'for',
        `'for' in ${what}: only a link, partition or impair event can be undone after a while`,
        true,
      );
    } else {
      const f = parseDuration(e.for, MAX_TIME_US);
      if ('problem' in f) bad('for', `'for' of ${what} ${f.problem}`);
      else forMs = f.value / 1000;
    }
  }
  if (e.state !== undefined && kind !== 'link')
    bad('state', `'state' in ${what} belongs to a link event`, true);
  if (e.clear !== undefined && kind !== 'impair')
    bad('clear', `'clear' in ${what} belongs to an impair event`, true);
  for (const k of IMPAIR_KEYS) {
    if (e[k] !== undefined && kind !== 'impair') bad(k, `'${k}' in ${what} belongs to an impair event`, true);
  }

  let action: TimelineAction | undefined;
  switch (kind) {
    case 'link': {
      const end = endOf(lab, e.link!);
      if ('problem' in end) bad('link', `'link' of ${what} ${end.problem}`);
      else if (e.state === undefined)
        bad('link', `${what} sets link ${e.link} but gives no 'state' (up or down)`);
      else action = { kind: 'link', ...end, up: e.state === 'up' };
      break;
    }
    case 'impair': {
      const end = endOf(lab, e.impair!);
      const given = IMPAIR_KEYS.filter((k) => e[k] !== undefined);
      if ('problem' in end) bad('impair', `'impair' of ${what} ${end.problem}`);
      if (e.clear && given.length > 0) {
        bad('clear', `${what} both clears ${e.impair} and sets ${given.join(', ')}: choose one`, true);
      } else if (!e.clear && given.length === 0) {
        bad(
          'impair',
          `${what} impairs ${e.impair} without saying how: give rate, loss, delay or jitter, or clear: true`,
        );
      }
      const impair = e.clear ? null : impairmentAt(e, path, what, fail);
      if (impair === undefined) ok = false;
      if (ok && !('problem' in end)) action = { kind: 'impair', ...end, impair: impair ?? null };
      break;
    }
    case 'partition': {
      const groups = e.partition!;
      const seen = new Map<string, number>();
      groups.forEach((g, k) => {
        if (g.length === 0) bad('partition', `group ${k + 1} of the partition in ${what} is empty`);
        for (const node of g) {
          if (!lab.nodes.some((n) => n.name === node)) {
            bad('partition', `the partition in ${what} names '${node}', which is not a node of the lab`);
          } else if (seen.has(node)) {
            bad(
              'partition',
              `the partition in ${what} puts '${node}' in groups ${seen.get(node)! + 1} and ${k + 1}`,
            );
          } else seen.set(node, k);
        }
      });
      if (groups.length < 2)
        bad('partition', `the partition in ${what} needs at least two groups to separate`);
      action = { kind: 'partition', groups: groups.map((g) => [...g]) };
      break;
    }
    case 'heal':
      action = { kind: 'heal' };
      break;
    case 'stop':
    case 'start': {
      const text = e[kind]!;
      const slash = text.indexOf('/');
      const node = text.slice(0, slash);
      if (slash < 1 || slash === text.length - 1) {
        bad(kind, `'${kind}' of ${what} must name a process as 'node/name' (like 'r2/ospfd'), not '${text}'`);
      } else if (!lab.nodes.some((n) => n.name === node)) {
        bad(kind, `'${kind}' of ${what} names node '${node}', which is not a node of the lab`);
      } else action = { kind, node, process: text.slice(slash + 1) };
      break;
    }
  }
  if (!ok || !action || 'problem' in at) return [];
  return [{ atMs: at.value / 1000, action, ...(forMs !== undefined && { forMs }), pos: locate(path) }];
}
