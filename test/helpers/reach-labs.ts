/**
 * Labs of the reachability issue, as topology files: the triangle of auto and static routers, the ring whose
 * requests and replies part ways, and the static triangle with one route missing (the roundabout fix).
 */

/** h1 — r1, h2 — r2, h3 — r3 in a triangle of routers; r1 and r2 auto, r3 static with forwarding and routes. */
export const TRIANGLE = `name: triangle
routing: auto
topology:
  nodes:
    h1: {}
    h2: {}
    r1: {}
    r2: {}
    r3:
      routing: static
      sysctls: { net.ipv4.ip_forward: 1 }
      routes:
        - { dst: 10.0.1.0/24, via: 10.0.13.1 }
        - { dst: 10.0.2.0/24, via: 10.0.23.2 }
    h3:
      routing: static
      routes: [{ dst: default, via: 10.0.3.1 }]
  links:
    - { endpoints: ["h1:eth0", "r1:e0"], ipv4: [10.0.1.10/24, 10.0.1.1/24] }
    - { endpoints: ["h2:eth0", "r2:e0"], ipv4: [10.0.2.10/24, 10.0.2.1/24] }
    - { endpoints: ["h3:eth0", "r3:e0"], ipv4: [10.0.3.10/24, 10.0.3.1/24] }
    - { endpoints: ["r1:e12", "r2:e21"], ipv4: [10.0.12.1/24, 10.0.12.2/24] }
    - { endpoints: ["r1:e13", "r3:e31"], ipv4: [10.0.13.1/24, 10.0.13.3/24] }
    - { endpoints: ["r2:e23", "r3:e32"], ipv4: [10.0.23.2/24, 10.0.23.3/24] }
expect:
  - { from: h1, to: h3, reach: true, hops: 2 }
  - { from: h2, to: h3, reach: true, hops: 2 }
  - { from: h1, to: h2, reach: true, hops: 2 }
`;

/** host — r1; r1, r2, r3 in a ring; `hosts` stub hosts on a bridge behind each router; all auto. */
export function ringText(hosts: number, prefix: string): string {
  const nodes = ['    host: {}'];
  const links = ['    - endpoints: ["host:up", "r1:up"]'];
  for (const r of [1, 2, 3]) {
    nodes.push(`    r${r}: {}`, `    sw${r}: { kind: bridge }`);
    links.push(`    - endpoints: ["r${r}:lan", "sw${r}:p0"]`);
    for (let h = 1; h <= hosts; h++) {
      nodes.push(`    h${r}x${h}: {}`);
      links.push(`    - endpoints: ["h${r}x${h}:eth0", "sw${r}:p${h}"]`);
    }
  }
  links.push(
    '    - endpoints: ["r1:e12", "r2:e21"]',
    '    - endpoints: ["r2:e23", "r3:e32"]',
    '    - endpoints: ["r3:e31", "r1:e13"]',
  );
  return `name: ring\nprefix: ${prefix}\nrouting: auto\ntopology:\n  nodes:\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}

/** A static triangle of forwarding routers with a host each, r2's route to h3's LAN missing. */
export const ROUNDABOUT = `name: roundabout
topology:
  defaults:
    sysctls: { net.ipv4.ip_forward: 1 }
  nodes:
    r1:
      routes:
        - { dst: 10.0.2.0/24, via: 10.0.12.2 }
        - { dst: 10.0.3.0/24, via: 10.0.13.3 }
    r2:
      routes:
        - { dst: 10.0.1.0/24, via: 10.0.12.1 }
    r3:
      routes:
        - { dst: 10.0.1.0/24, via: 10.0.13.1 }
        - { dst: 10.0.2.0/24, via: 10.0.23.2 }
    h1: { routes: [{ dst: default, via: 10.0.1.1 }] }
    h2: { routes: [{ dst: default, via: 10.0.2.1 }] }
    h3: { routes: [{ dst: default, via: 10.0.3.1 }] }
  links:
    - { endpoints: ["h1:eth0", "r1:e0"], ipv4: [10.0.1.10/24, 10.0.1.1/24] }
    - { endpoints: ["h2:eth0", "r2:e0"], ipv4: [10.0.2.10/24, 10.0.2.1/24] }
    - { endpoints: ["h3:eth0", "r3:e0"], ipv4: [10.0.3.10/24, 10.0.3.1/24] }
    - { endpoints: ["r1:e12", "r2:e21"], ipv4: [10.0.12.1/24, 10.0.12.2/24] }
    - { endpoints: ["r1:e13", "r3:e31"], ipv4: [10.0.13.1/24, 10.0.13.3/24] }
    - { endpoints: ["r2:e23", "r3:e32"], ipv4: [10.0.23.2/24, 10.0.23.3/24] }
`;
