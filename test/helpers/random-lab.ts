/**
 * Random connected labs from a seed, as topology files: 10–40 nodes, routers joined as a tree, a ring or a mesh,
 * a mix of `routing: auto` routers, static routers that forward (with a default route to an auto neighbour, or
 * none) and static routers that do not, LANs on bridges (some joining two routers) and stub hosts, auto or
 * static (a default route to their router). Every address is written (a /24 per link or LAN), so static routes
 * can name their gateways; optionally dual-stack.
 */

/** mulberry32: a small, good-enough PRNG, the same numbers for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type RouterKind = 'auto' | 'static-forwarding' | 'static';

export interface RandomLab {
  seed: number;
  text: string;
  /** Nodes, bridges included. */
  nodes: number;
  routers: Record<string, RouterKind>;
  structure: 'tree' | 'ring' | 'mesh';
}

interface End {
  node: string;
  iface: string;
  v4?: string;
  v6?: string;
}

export function randomLab(seed: number, opts: { prefix?: string; ipv6?: boolean } = {}): RandomLab {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const total = int(10, 40);
  const nR = int(3, Math.min(10, Math.floor(total / 3)));
  const structure = pick(['tree', 'ring', 'mesh'] as const);
  const routers: Record<string, RouterKind> = {};
  for (let i = 0; i < nR; i++) {
    const x = rnd();
    routers[`r${i}`] = i === 0 || x < 0.65 ? 'auto' : x < 0.9 ? 'static-forwarding' : 'static';
  }
  const links: [End, End][] = [];
  const nodeLines = new Map<string, string[]>();
  const ifCount = new Map<string, number>();
  const ifName = (node: string) => {
    const k = ifCount.get(node) ?? 0;
    ifCount.set(node, k + 1);
    return `e${k}`;
  };
  let net = 0;
  const addr = (n: number, host: number) => ({
    v4: `10.${n >> 8}.${n & 255}.${host}/24`,
    v6: opts.ipv6 ? `fd00:${n.toString(16)}::${host.toString(16)}/64` : undefined,
  });
  const gwOf = new Map<string, { v4: string; v6?: string }>();
  const neighbours = new Map<string, { node: string; v4: string; v6?: string }[]>();
  const note = (a: string, b: string, bAddr: { v4: string; v6?: string }) => {
    const list = neighbours.get(a) ?? [];
    list.push({ node: b, ...bAddr });
    neighbours.set(a, list);
  };
  const p2p = (a: string, b: string) => {
    const n = net++;
    const x = addr(n, 1);
    const y = addr(n, 2);
    links.push([
      { node: a, iface: ifName(a), ...x },
      { node: b, iface: ifName(b), ...y },
    ]);
    note(a, b, { v4: y.v4.split('/')[0], v6: y.v6?.split('/')[0] });
    note(b, a, { v4: x.v4.split('/')[0], v6: x.v6?.split('/')[0] });
    return { a: x, b: y };
  };
  const edges = new Set<string>();
  const join = (i: number, j: number) => {
    const key = i < j ? `${i}-${j}` : `${j}-${i}`;
    if (i === j || edges.has(key)) return;
    edges.add(key);
    p2p(`r${i}`, `r${j}`);
  };
  for (let i = 1; i < nR; i++) join(i, structure === 'ring' ? i - 1 : int(0, i - 1));
  if (structure === 'ring') join(nR - 1, 0);
  if (structure === 'mesh') for (let k = int(1, nR); k > 0; k--) join(int(0, nR - 1), int(0, nR - 1));

  let left = total - nR;
  let hosts = 0;
  let bridges = 0;
  const hostKinds = new Map<string, 'auto' | 'static'>();
  while (left > 0) {
    if (left >= 3 && rnd() < 0.5) {
      const sw = `sw${bridges++}`;
      nodeLines.set(sw, ['kind: bridge']);
      const n = net++;
      const count = int(2, Math.min(6, left - 1));
      const attached = [int(0, nR - 1)];
      if (rnd() < 0.3) attached.push(int(0, nR - 1));
      let host = 1;
      const members: { node: string; v4: string; v6?: string }[] = [];
      for (const r of new Set(attached)) {
        const a = addr(n, host++);
        links.push([
          { node: `r${r}`, iface: ifName(`r${r}`), ...a },
          { node: sw, iface: ifName(sw) },
        ]);
        members.push({ node: `r${r}`, v4: a.v4.split('/')[0], v6: a.v6?.split('/')[0] });
      }
      for (let k = 0; k < count; k++) {
        const h = `h${hosts++}`;
        const a = addr(n, host++);
        links.push([
          { node: h, iface: ifName(h), ...a },
          { node: sw, iface: ifName(sw) },
        ]);
        hostKinds.set(h, rnd() < 0.6 ? 'auto' : 'static');
        gwOf.set(h, { v4: members[0].v4, v6: members[0].v6 });
        members.push({ node: h, v4: a.v4.split('/')[0], v6: a.v6?.split('/')[0] });
      }
      for (const m of members) for (const o of members) if (m !== o) note(m.node, o.node, o);
      left -= count + 1;
    } else {
      const h = `h${hosts++}`;
      const r = int(0, nR - 1);
      const { b } = p2p(h, `r${r}`);
      hostKinds.set(h, rnd() < 0.6 ? 'auto' : 'static');
      gwOf.set(h, { v4: b.v4.split('/')[0], v6: b.v6?.split('/')[0] });
      left -= 1;
    }
  }

  const route = (dst: string, via: string) => `{ dst: ${dst}, via: "${via}" }`;
  for (const [name, kind] of Object.entries(routers)) {
    const lines: string[] = [];
    if (kind !== 'auto') lines.push('routing: static');
    if (kind === 'static-forwarding') {
      lines.push(
        `sysctls: { net.ipv4.ip_forward: 1${opts.ipv6 ? ', net.ipv6.conf.all.forwarding: 1' : ''} }`,
      );
      const autos = (neighbours.get(name) ?? []).filter((n) => routers[n.node] === 'auto');
      if (autos.length > 0 && rnd() < 0.7) {
        const gw = pick(autos);
        const rs = [route('default', gw.v4)];
        if (gw.v6) rs.push(route('"::/0"', gw.v6));
        lines.push(`routes: [${rs.join(', ')}]`);
      }
    }
    nodeLines.set(name, lines);
  }
  for (const [h, kind] of hostKinds) {
    if (kind === 'auto') nodeLines.set(h, []);
    else {
      const gw = gwOf.get(h)!;
      const rs = [route('default', gw.v4)];
      if (gw.v6) rs.push(route('"::/0"', gw.v6));
      nodeLines.set(h, ['routing: static', `routes: [${rs.join(', ')}]`]);
    }
  }
  const nodeText = [...nodeLines]
    .map(([n, lines]) => `    ${n}: { ${lines.join(', ')} }`.replace('{  }', '{}'))
    .join('\n');
  const end = (e: End) => `"${e.node}:${e.iface}"`;
  const list = (a?: string, b?: string) => `[${a ? `"${a}"` : 'null'}, ${b ? `"${b}"` : 'null'}]`;
  const linkText = links
    .map(
      ([a, b]) =>
        `    - endpoints: [${end(a)}, ${end(b)}]\n      ipv4: ${list(a.v4, b.v4)}` +
        (opts.ipv6 ? `\n      ipv6: ${list(a.v6, b.v6)}` : ''),
    )
    .join('\n');
  const text =
    `name: random${seed}\n${opts.prefix ? `prefix: ${opts.prefix}\n` : ''}routing: auto\n` +
    `topology:\n  nodes:\n${nodeText}\n  links:\n${linkText}\n`;
  return { seed, text, nodes: nodeLines.size, routers, structure };
}
