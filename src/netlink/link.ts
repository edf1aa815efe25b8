/**
 * rtnetlink link family (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK / RTM_SETLINK): network devices.
 * Each function builds one request; a namespace handle sends it. Layout per include/uapi/linux/if_link.h and
 * rtnetlink.h: struct ifinfomsg (16 bytes) then IFLA_* attributes.
 */
import { ipToBuffer } from './inet.js';
import {
  attrS32,
  attrString,
  attrU32,
  type Message,
  macFromString,
  macToString,
  NLM_F_CREATE,
  NLM_F_EXCL,
  parseAttrs,
  type Request,
  Writer,
} from './message.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;

export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
/** IFLA_QDISC: the kind of the device's root qdisc (`noqueue`, `tbf`). */
const IFLA_QDISC = 6;
const IFLA_NET_NS_FD = 28;
const IFLA_EXT_MASK = 29;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_MACVLAN_MODE = 1;
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_TTL = 5;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_PORT = 15;
const IFLA_VXLAN_GROUP6 = 16;
const IFLA_VXLAN_LOCAL6 = 17;

const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];
const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;
export type MacvlanMode = keyof typeof MACVLAN_MODES;

/** A device as the kernel reports it (`ip -d link show`). */
export interface LinkInfo {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: `veth`, `bridge`, `macvlan`, `vxlan`; absent for loopback and physical devices. */
  kind?: string;
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  operstate: string;
  mtu: number;
  mac?: string;
  alias?: string;
  masterIndex?: number;
  /** IFLA_LINK: for a veth, the peer's index (in the peer's namespace). */
  linkIndex?: number;
  /** IFLA_LINK_NETNSID: the peer's namespace, as an id local to this namespace. */
  linkNetnsId?: number;
  /** IFLA_QDISC: the kind of its root qdisc (`noqueue`, `fq_codel`, `tbf`). */
  qdisc?: string;
}

/** Selects a device by index, or by name when no index is given. */
export interface LinkRef {
  index?: number;
  name?: string;
}

/** Attributes common to creating and changing a device. */
export interface LinkAttrs {
  mtu?: number;
  mac?: string;
  up?: boolean;
  alias?: string;
  /** Index of the master (bridge); 0 releases the device from its master (`nomaster`). */
  masterIndex?: number;
  /** Moves the device to the namespace this fd refers to (`netns NS`). */
  nsFd?: number;
}

function ifinfomsg(index = 0, up?: boolean): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(index, 4);
  if (up !== undefined) {
    b.writeUInt32LE(up ? IFF_UP : 0, 8);
    b.writeUInt32LE(IFF_UP, 12);
  }
  return b;
}

function refDesc(ref: LinkRef): string {
  return ref.name ?? `ifindex ${ref.index}`;
}

function writeRef(w: Writer, ref: LinkRef): void {
  if (!ref.index && ref.name) w.str(IFLA_IFNAME, ref.name);
}

function writeAttrs(w: Writer, a: LinkAttrs): void {
  if (a.mtu !== undefined) w.u32(IFLA_MTU, a.mtu);
  if (a.mac !== undefined) w.attr(IFLA_ADDRESS, macFromString(a.mac));
  if (a.alias !== undefined) w.str(IFLA_IFALIAS, a.alias);
  if (a.masterIndex !== undefined) w.u32(IFLA_MASTER, a.masterIndex);
  if (a.nsFd !== undefined) w.u32(IFLA_NET_NS_FD, a.nsFd);
}

function create(
  name: string,
  kind: string,
  a: LinkAttrs & { index?: number },
  extra: (w: Writer) => void,
  object = name,
): Request {
  const w = new Writer().bytes(ifinfomsg(a.index ?? 0, a.up)).str(IFLA_IFNAME, name);
  writeAttrs(w, a);
  w.nest(IFLA_LINKINFO, (li) => {
    li.str(IFLA_INFO_KIND, kind);
    extra(li);
  });
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    payload: w.finish(),
    op: `add ${kind}`,
    object,
  };
}

/**
 * Creates a veth pair: `ip link add NAME type veth peer name PEER [netns NS]`. With `peer.nsFd` the peer is
 * created directly inside that namespace (no move afterwards). `index`/`peer.index` ask for given ifindexes.
 * The local end may be set up here; the peer may not (the kernel answers ENOTCONN while the pair is half made),
 * so set the peer up with a second request.
 */
export function vethAdd(
  o: LinkAttrs & {
    name: string;
    index?: number;
    peer: { name: string; index?: number; nsFd?: number; mac?: string; mtu?: number };
  },
): Request {
  return create(
    o.name,
    'veth',
    o,
    (li) =>
      li.nest(IFLA_INFO_DATA, (d) =>
        d.nest(VETH_INFO_PEER, (p) => {
          p.bytes(ifinfomsg(o.peer.index ?? 0)).str(IFLA_IFNAME, o.peer.name);
          writeAttrs(p, { nsFd: o.peer.nsFd, mac: o.peer.mac, mtu: o.peer.mtu ?? o.mtu });
        }),
      ),
    `${o.name} (peer ${o.peer.name})`,
  );
}

/** Creates a device of a kind that needs no options: `ip link add NAME type KIND` (dummy, ifb, ...). */
export function linkAdd(o: LinkAttrs & { name: string; kind: string; index?: number }): Request {
  return create(o.name, o.kind, o, () => {});
}

/** Creates a Linux bridge: `ip link add NAME type bridge`. */
export function bridgeAdd(o: LinkAttrs & { name: string; index?: number }): Request {
  return create(o.name, 'bridge', o, () => {});
}

/** Creates a macvlan device on a parent: `ip link add NAME link PARENT type macvlan mode MODE`. */
export function macvlanAdd(
  o: LinkAttrs & { name: string; parentIndex: number; mode?: MacvlanMode; index?: number },
): Request {
  const req = create(o.name, 'macvlan', o, (li) =>
    li.nest(IFLA_INFO_DATA, (d) => d.u32(IFLA_MACVLAN_MODE, MACVLAN_MODES[o.mode ?? 'bridge'])),
  );
  return withLink(req, o.parentIndex);
}

/**
 * Creates a VXLAN device: `ip link add NAME type vxlan id VNI [local A] [remote R | group G dev D] dstport P`.
 * `remote` (unicast) and `group` (multicast) both travel in IFLA_VXLAN_GROUP(6), as iproute2 sends them.
 */
export function vxlanAdd(
  o: LinkAttrs & {
    name: string;
    vni: number;
    port?: number;
    local?: string;
    remote?: string;
    group?: string;
    parentIndex?: number;
    learning?: boolean;
    ttl?: number;
    index?: number;
  },
): Request {
  return create(o.name, 'vxlan', o, (li) =>
    li.nest(IFLA_INFO_DATA, (d) => {
      d.u32(IFLA_VXLAN_ID, o.vni);
      const peer = o.remote ?? o.group;
      if (peer) {
        const b = ipToBuffer(peer).bytes;
        d.attr(b.length === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, b);
      }
      if (o.local) {
        const b = ipToBuffer(o.local).bytes;
        d.attr(b.length === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, b);
      }
      if (o.parentIndex) d.u32(IFLA_VXLAN_LINK, o.parentIndex);
      if (o.ttl !== undefined) d.u8(IFLA_VXLAN_TTL, o.ttl);
      if (o.learning !== undefined) d.u8(IFLA_VXLAN_LEARNING, o.learning ? 1 : 0);
      d.be16(IFLA_VXLAN_PORT, o.port ?? 4789);
    }),
  );
}

function withLink(req: Request, parentIndex: number): Request {
  const extra = new Writer().u32(IFLA_LINK, parentIndex).finish();
  return { ...req, payload: Buffer.concat([req.payload, extra]) };
}

/** Deletes a device: `ip link del NAME`. Deleting one end of a veth pair deletes both. */
export function linkDel(ref: LinkRef): Request {
  const w = new Writer().bytes(ifinfomsg(ref.index ?? 0));
  writeRef(w, ref);
  return { type: RTM_DELLINK, flags: 0, payload: w.finish(), op: 'delete link', object: refDesc(ref) };
}

/**
 * Changes a device: `ip link set dev NAME [up|down] [mtu N] [address MAC] [alias TEXT] [master BR|nomaster]
 * [netns NS]`.
 */
export function linkSet(ref: LinkRef, a: LinkAttrs): Request {
  const w = new Writer().bytes(ifinfomsg(ref.index ?? 0, a.up));
  writeRef(w, ref);
  writeAttrs(w, a);
  return { type: RTM_NEWLINK, flags: 0, payload: w.finish(), op: 'set link', object: refDesc(ref) };
}

/**
 * Lists devices: `ip link show`. Asks the kernel to leave the statistics out (RTEXT_FILTER_SKIP_STATS in
 * IFLA_EXT_MASK): nothing here reads them, and they are most of each device's message.
 */
export function linkDump(): Request {
  const payload = new Writer().bytes(ifinfomsg()).u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS).finish();
  return { type: RTM_GETLINK, flags: 0, payload, op: 'list links', object: '' };
}

/** The attributes parseLink reads. */
const LINK_ATTRS = new Set([
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_MTU,
  IFLA_LINK,
  IFLA_MASTER,
  IFLA_OPERSTATE,
  IFLA_LINKINFO,
  IFLA_IFALIAS,
  IFLA_LINK_NETNSID,
  IFLA_QDISC,
]);

/** Decodes an RTM_NEWLINK message. */
export function parseLink(m: Message): LinkInfo {
  const p = m.payload;
  const flags = p.readUInt32LE(8);
  const at = parseAttrs(p, 16, LINK_ATTRS);
  const info = at.get(IFLA_LINKINFO);
  const mac = at.get(IFLA_ADDRESS);
  const opstate = at.get(IFLA_OPERSTATE);
  const master = attrU32(at.get(IFLA_MASTER));
  const link = attrU32(at.get(IFLA_LINK));
  return {
    index: p.readInt32LE(4),
    name: attrString(at.get(IFLA_IFNAME)) ?? '',
    kind: info ? attrString(parseAttrs(info).get(IFLA_INFO_KIND)) : undefined,
    flags,
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    operstate: opstate ? (OPERSTATES[opstate[0]] ?? 'unknown') : 'unknown',
    mtu: attrU32(at.get(IFLA_MTU)) ?? 0,
    mac: mac && mac.length === 6 ? macToString(mac) : undefined,
    alias: attrString(at.get(IFLA_IFALIAS)),
    masterIndex: master || undefined,
    linkIndex: link || undefined,
    linkNetnsId: attrS32(at.get(IFLA_LINK_NETNSID)),
    qdisc: attrString(at.get(IFLA_QDISC)),
  };
}
