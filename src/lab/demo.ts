/**
 * `nslab demo`: the tutorial (../shared/seed/network-namespaces-tutorial.txt) told by nslab, in a throwaway
 * namespace that plays the host so that nothing on the real host changes. Each step is an event the CLI prints:
 * the `ip` commands nslab runs, real `ping` output, and nslab's explanation of the failures.
 */
import { InterruptedError } from '../apply/execute.js';
import { explain } from '../explain/explain.js';
import { formatExplanation } from '../explain/format.js';
import { NetnsHandle } from '../netns/handle.js';
import { namedNetnsExists } from '../netns/named.js';
import { NslabError } from '../sys/errors.js';
import { parseTopology } from '../topology/load.js';
import { Lab } from './lab.js';

export type DemoEvent =
  | { kind: 'step'; title: string; text?: string }
  | { kind: 'commands'; commands: string[] }
  | { kind: 'ping'; from: string; to: string; command: string; output: string; code: number }
  | { kind: 'explain'; text: string }
  | { kind: 'note'; text: string };

/** The tutorial's lab; `stage` 0 has no routes and no forwarding, 1 adds the routes, 2 turns forwarding on. */
export function tutorialTopology(stage: 0 | 1 | 2, prefix = ''): string {
  return `name: demo
${prefix ? `prefix: ${prefix}\n` : ''}topology:
  nodes:
    host:
      sysctls:
        net.ipv4.ip_forward: ${stage === 2 ? 1 : 0}
    ns0:${stage > 0 ? '\n      routes:\n        - dst: 10.1.20.0/24\n          via: 10.1.10.1' : ' {}'}
    ns1:${stage > 0 ? '\n      routes:\n        - dst: 10.1.10.0/24\n          via: 10.1.20.1' : ' {}'}
  links:
    - endpoints: ["host:veth11", "ns0:veth12"]
      ipv4: ["10.1.10.1/24", "10.1.10.2/24"]
    - endpoints: ["host:veth21", "ns1:veth22"]
      ipv4: ["10.1.20.1/24", "10.1.20.2/24"]
`;
}

/**
 * Runs the tutorial's story step by step, calling `emit` for each event. Uses `hostNetns` as the host when given
 * (it must exist), else creates and finally deletes a namespace `nslab-demo-<pid>`. Namespaces ns0 and ns1 get
 * the prefix `demo-` when those names are taken. Aborting `signal` stops it at the next step (an `up` in
 * progress is rolled back); either way it ends by removing its lab and its namespace, and then rejects with an
 * InterruptedError.
 */
export async function runDemo(
  emit: (e: DemoEvent) => void,
  opts: { hostNetns?: string; signal?: AbortSignal } = {},
): Promise<void> {
  const signal = opts.signal;
  const stopIfAborted = () => {
    if (!signal?.aborted) return;
    throw new InterruptedError('demo', typeof signal.reason === 'string' ? signal.reason : 'aborted', []);
  };
  const step = (e: DemoEvent) => {
    stopIfAborted();
    emit(e);
  };
  const own = opts.hostNetns === undefined;
  const hostNetns = opts.hostNetns ?? `nslab-demo-${process.pid}`;
  const prefix = namedNetnsExists('ns0') || namedNetnsExists('ns1') ? 'demo-' : '';
  if (own) {
    const h = NetnsHandle.create(hostNetns);
    h.setLink('lo', { up: true });
    h.close();
  }
  const stages = ([0, 1, 2] as const).map(
    (s) => new Lab(parseTopology(tutorialTopology(s, prefix), 'demo'), { hostNetns }),
  );
  const [ns0, ns1] = [`${prefix}ns0`, `${prefix}ns1`];
  const ping = async (lab: Lab, from: string, to: string) => {
    stopIfAborted();
    const argv = ['ping', '-c', '1', '-W', '1', to];
    const r = await lab.exec(from, argv);
    const where = `ip netns exec ${lab.node(from).netns ?? hostNetns} `;
    emit({
      kind: 'ping',
      from,
      to,
      command: `${where}${argv.join(' ')}`,
      output: (r.stdout + r.stderr).trim(),
      code: r.code,
    });
    return r.code;
  };
  const apply = async (lab: Lab) => {
    const r = await lab.up({ signal });
    emit({ kind: 'commands', commands: r.plan.ops.map((op) => lab.command(op, false)) });
  };
  try {
    emit({
      kind: 'step',
      title: 'A throwaway namespace plays the host',
      text: own
        ? `${hostNetns} stands for the tutorial's "default network namespace" (labserver); the real host is not touched.`
        : `${hostNetns} stands for the tutorial's "default network namespace".`,
    });
    if (prefix)
      emit({
        kind: 'note',
        text: `ns0 or ns1 already exists on this machine: the demo uses ${ns0} and ${ns1}.`,
      });

    step({ kind: 'step', title: '1. Two namespaces, two veth pairs, addresses on both ends' });
    await apply(stages[0]);

    step({ kind: 'step', title: '2. The host reaches both namespaces' });
    await ping(stages[0], 'host', '10.1.10.2');
    await ping(stages[0], 'host', '10.1.20.2');

    step({ kind: 'step', title: `3. ${ns0} cannot reach ${ns1}` });
    await ping(stages[0], 'ns0', '10.1.20.2');
    emit({ kind: 'explain', text: formatExplanation(explain(stages[0].topology, 'ns0', '10.1.20.2')) });

    step({ kind: 'step', title: '4. Routes in each namespace, pointing at the host' });
    await apply(stages[1]);
    await ping(stages[1], 'ns0', '10.1.20.2');
    emit({ kind: 'explain', text: formatExplanation(explain(stages[1].topology, 'ns0', '10.1.20.2')) });

    step({ kind: 'step', title: '5. IP forwarding on the host' });
    await apply(stages[2]);
    const code = await ping(stages[2], 'ns0', '10.1.20.2');
    emit({ kind: 'explain', text: formatExplanation(explain(stages[2].topology, 'ns0', '10.1.20.2')) });
    if (code !== 0)
      throw new NslabError('the last ping should have answered: the demo lab is not working on this machine');

    step({ kind: 'step', title: '6. Clean up' });
    // The pings left handles open in every stage: an open fd would keep a deleted namespace alive.
    for (const s of stages) s.close();
    const down = await stages[2].down();
    emit({ kind: 'commands', commands: down.plan.ops.map((op) => stages[2].command(op, false)) });
  } finally {
    try {
      for (const s of stages) s.close();
      await stages[2].down({ graceMs: 0 });
    } finally {
      for (const s of stages) s.close();
      if (own) NetnsHandle.open(hostNetns).destroy();
    }
  }
}
