import { TopologyError } from '../../src/topology/errors.js';
import { parseTopology } from '../../src/topology/load.js';

// Texts shared by the topology tests.

/** The seed file of the brief, exactly. */
export const SEED = `name: seed
topology:
  nodes:
    host:                       # the namespace nslab runs from: the tutorial's "default network namespace"
      sysctls:
        net.ipv4.ip_forward: 1
    ns0:
      routes:
        - dst: 10.1.20.0/24
          via: 10.1.10.1
    ns1:
      routes:
        - dst: 10.1.10.0/24
          via: 10.1.20.1
  links:
    - endpoints: ["host:veth11", "ns0:veth12"]
      ipv4: ["10.1.10.1/24", "10.1.10.2/24"]
    - endpoints: ["host:veth21", "ns1:veth22"]
      ipv4: ["10.1.20.1/24", "10.1.20.2/24"]
`;

/** The problems of a file that must not load, as `line:col: message` strings (fails when it loads). */
export function problemsOf(text: string): string[] {
  try {
    parseTopology(text, 'bad.yml');
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.problems.map((p) => `${p.pos.line}:${p.pos.col}: ${p.message}`);
  }
  throw new Error('the file loaded');
}

/**
 * A lab from node lines (`a: {}` style, indented under nodes) and link lines (each `a:x b:y` plus optional YAML for
 * the link on the same line after the two ends, e.g. `ipv4: [10.0.0.1/24, 10.0.0.2/24]`), with `top` before
 * `topology:`. Nodes start on line 4 (plus the lines of `top`).
 */
export function labText(opts: { top?: string; nodes: string[]; links: string[] }): string {
  const nodes = opts.nodes.map((n) => `    ${n.includes(':') ? n : `${n}: {}`}\n`).join('');
  const links = opts.links
    .map((l) => {
      const [a, b, ...rest] = l.split(' ');
      return `    - endpoints: ["${a}", "${b}"]\n${rest.length ? `      ${rest.join(' ')}\n` : ''}`;
    })
    .join('');
  return `name: t\n${opts.top ?? ''}topology:\n  nodes:\n${nodes}${links ? `  links:\n${links}` : ''}`;
}
