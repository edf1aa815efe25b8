import type { ResolvedLab } from '../../src/topology/types.js';
import { LabBuilder } from '../helpers/lab.js';

export type TutorialState = 'bare' | 'routes' | 'working';

/**
 * The seed tutorial: ns0 —veth12/veth11— host —veth21/veth22— ns1. `bare` has addresses only, `routes` adds
 * the two routes, `working` also enables forwarding on the host. `family` 6 uses 2001:db8:10::/64 and :20::/64.
 */
export function tutorial(state: TutorialState, family: 4 | 6 = 4): ResolvedLab {
  const a = (n: 10 | 20, h: 1 | 2) => (family === 4 ? `10.1.${n}.${h}/24` : `2001:db8:${n}::${h}/64`);
  const net = (n: 10 | 20) => (family === 4 ? `10.1.${n}.0/24` : `2001:db8:${n}::/64`);
  const gw = (n: 10 | 20) => a(n, 1).split('/')[0];
  const b = new LabBuilder('tutorial')
    .node('host', 'host')
    .node('ns0')
    .node('ns1')
    .link('ns0:veth12', [a(10, 2)], 'host:veth11', [a(10, 1)])
    .link('ns1:veth22', [a(20, 2)], 'host:veth21', [a(20, 1)]);
  if (state !== 'bare') b.route('ns0', net(20), gw(10)).route('ns1', net(10), gw(20));
  if (state === 'working')
    b.sysctl('host', family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding', '1');
  return b.build();
}

/**
 * n0 — r1 — r2 — … — rN — n(N+1): N forwarding routers in a line, link i on 10.(i>>8).(i&255).0/24, with routes
 * both ways between the two ends; `ttl` sets net.ipv4.ip_default_ttl on every node when given.
 */
export function chain(routers: number, ttl?: string): ResolvedLab {
  const net = (i: number) => `10.${i >> 8}.${i & 255}`;
  const last = routers + 1;
  const b = new LabBuilder('chain');
  for (let i = 0; i <= last; i++) {
    b.node(i === 0 || i === last ? `n${i}` : `r${i}`, 'netns', ttl ? { 'net.ipv4.ip_default_ttl': ttl } : {});
  }
  const name = (i: number) => (i === 0 || i === last ? `n${i}` : `r${i}`);
  for (let i = 0; i < last; i++)
    b.link(`${name(i)}:right`, [`${net(i)}.1/24`], `${name(i + 1)}:left`, [`${net(i)}.2/24`]);
  b.route('n0', 'default', `${net(0)}.2`).route(`n${last}`, 'default', `${net(last - 1)}.1`);
  for (let i = 1; i <= routers; i++) {
    b.sysctl(`r${i}`, 'net.ipv4.ip_forward', '1');
    if (i < routers) b.route(`r${i}`, `${net(last - 1)}.0/24`, `${net(i)}.2`);
    if (i > 1) b.route(`r${i}`, `${net(0)}.0/24`, `${net(i - 1)}.1`);
  }
  return b.build();
}

/** Hosts h1..h`n` on one bridge `sw`, 10.0.0.i/24 each (add more before `build()`). */
export function lan(n = 4): LabBuilder {
  const b = new LabBuilder('lan').node('sw', 'bridge');
  for (let i = 1; i <= n; i++) b.link(`h${i}:eth0`, [`10.0.0.${i}/24`], `sw:p${i}`);
  return b;
}

/** X: eth0 10.0.0.1/16 to A (10.0.5.5/16), eth1 10.0.1.1/24 to B (10.0.1.2/24): A believes B is on its link. */
export function overlapping(): ResolvedLab {
  return new LabBuilder('overlap')
    .link('X:eth0', ['10.0.0.1/16'], 'A:eth0', ['10.0.5.5/16'])
    .link('X:eth1', ['10.0.1.1/24'], 'B:eth0', ['10.0.1.2/24'])
    .build();
}

/**
 * Asymmetric routing: the request S -> R1 -> T, the reply T -> R2 -> S. `t` and `s` are the sysctls of T and S
 * (rp_filter decides whether it works).
 */
export function asymmetric(t: Record<string, string> = {}, s: Record<string, string> = {}): ResolvedLab {
  return new LabBuilder('asymmetric')
    .node('S', 'netns', s)
    .node('R1', 'netns', { 'net.ipv4.ip_forward': '1' })
    .node('R2', 'netns', { 'net.ipv4.ip_forward': '1' })
    .node('T', 'netns', t)
    .link('S:eth0', ['10.0.1.2/24'], 'R1:eth0', ['10.0.1.1/24'])
    .link('R1:eth1', ['10.0.3.1/24'], 'T:eth0', ['10.0.3.2/24'])
    .link('T:eth1', ['10.0.4.2/24'], 'R2:eth1', ['10.0.4.1/24'])
    .link('R2:eth0', ['10.0.2.1/24'], 'S:eth1', ['10.0.2.2/24'])
    .route('S', '10.0.3.0/24', '10.0.1.1')
    .route('T', '10.0.1.0/24', '10.0.4.1')
    .route('R2', '10.0.1.0/24', '10.0.2.2')
    .build();
}

/** A core router with `switches` bridges below it, `hosts` dual-stack hosts on each, default routes to the core. */
export function campus(switches = 9, hosts = 11): ResolvedLab {
  const b = new LabBuilder('campus').node('core', 'netns', {
    'net.ipv4.ip_forward': '1',
    'net.ipv6.conf.all.forwarding': '1',
  });
  for (let s = 1; s <= switches; s++) {
    b.node(`sw${s}`, 'bridge').link(`core:e${s}`, [`10.0.${s}.1/24`, `2001:db8:${s}::1/64`], `sw${s}:up`);
    for (let h = 1; h <= hosts; h++) {
      const name = `h${s}x${h}`;
      b.link(`${name}:eth0`, [`10.0.${s}.${h + 10}/24`, `2001:db8:${s}::${h + 10}/64`], `sw${s}:p${h}`)
        .route(name, 'default', `10.0.${s}.1`)
        .route(name, 'default', `2001:db8:${s}::1`);
    }
  }
  return b.build();
}

/** `routing: auto` chain r0 — r1 — … of `n` nodes as a topology file (both families with `ipv6`). */
export function autoChainText(
  n: number,
  opts: { ipv6?: boolean; sysctls?: Record<number, string> } = {},
): string {
  const node = (i: number) => `    r${i}: {${opts.sysctls?.[i] ? ` sysctls: { ${opts.sysctls[i]} } ` : ''}}`;
  const link = (i: number) =>
    `    - endpoints: ["r${i}:right", "r${i + 1}:left"]` +
    (opts.ipv6 ? `\n      ipv6: ["fd00:${i.toString(16)}::1/64", "fd00:${i.toString(16)}::2/64"]` : '');
  return (
    `name: chain${n}\nrouting: auto\ntopology:\n  nodes:\n` +
    `${Array.from({ length: n }, (_, i) => node(i)).join('\n')}\n  links:\n` +
    `${Array.from({ length: n - 1 }, (_, i) => link(i)).join('\n')}\n`
  );
}
