/**
 * The racks lab the benchmarks build: per rack a bridge `swR` with 20 hosts `hRxH` behind a gateway `gwR`, each
 * gateway linked to the host, `routing: auto`, addresses from 10.128.0.0/9.
 */
export interface RacksOptions {
  name: string;
  /** Prefix of namespace names (none when left out). */
  prefix?: string;
  /** One more host, `extra`, on the first rack (for "one node added"). */
  extra?: boolean;
  /** `n` counts the gateways too (19 hosts and a gateway a rack), not only the hosts. */
  countGateways?: boolean;
}

export function racksText(n: number, o: RacksOptions): string {
  const perRack = o.countGateways ? 19 : 20;
  const first = o.countGateways ? 1 : 0;
  const nodes: string[] = [];
  const links: string[] = [];
  for (let r = 0; r < Math.ceil(n / 20); r++) {
    nodes.push(`    sw${r}: { kind: bridge }`, `    gw${r}: {}`);
    links.push(
      `    - endpoints: ["host:up${r}", "gw${r}:up"]`,
      `    - endpoints: ["gw${r}:down", "sw${r}:p0"]`,
    );
    for (let h = 0; h < perRack && r * 20 + h + first < n; h++) {
      nodes.push(`    h${r}x${h}: {}`);
      links.push(`    - endpoints: ["h${r}x${h}:eth0", "sw${r}:p${h + 1}"]`);
    }
  }
  if (o.extra) {
    nodes.push('    extra: {}');
    links.push('    - endpoints: ["extra:eth0", "sw0:px"]');
  }
  const prefix = o.prefix === undefined ? '' : `prefix: ${o.prefix}\n`;
  return `name: ${o.name}\n${prefix}routing: auto\ntopology:\n  defaults: { ipv4-pool: 10.128.0.0/9 }\n  nodes:\n    host: {}\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}
