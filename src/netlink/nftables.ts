/**
 * nf_tables over nfnetlink (NETLINK_NETFILTER), read side only: the tables and chains of a namespace, as
 * `nft list tables` / `nft list chains` show them. Reading them this way costs one datagram per namespace, where
 * running `nft` costs a process. Rules are written with `nft` itself (src/faults): their expressions are most of
 * nf_tables' netlink interface, and iproute2-style tools do not speak it either.
 * Layout per include/uapi/linux/netfilter/nfnetlink.h (struct nfgenmsg, 4 bytes) and nf_tables.h.
 */
import { attrString, type Message, parseAttrs, type Request } from './message.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_GETCHAIN = 4;
const NFTA_TABLE_NAME = 1;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
const NFTA_CHAIN_HOOK = 4;

/** nf_tables address families (NFPROTO_*): `inet` covers IPv4 and IPv6. */
export const NFPROTO_INET = 1;

/** A chain as the kernel reports it. */
export interface NftChain {
  family: number;
  table: string;
  name: string;
  /** A base chain: attached to a hook (input, postrouting...). */
  base: boolean;
}

function nfgenmsg(family: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(family, 0);
  return b;
}

/** Lists the tables of one family: `nft list tables inet`. */
export function nftTableDump(family = NFPROTO_INET): Request {
  return {
    type: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
    flags: 0,
    payload: nfgenmsg(family),
    op: 'list nftables tables',
    object: '',
  };
}

/** Lists the chains of every table of one family: `nft list chains inet`. */
export function nftChainDump(family = NFPROTO_INET): Request {
  return {
    type: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN,
    flags: 0,
    payload: nfgenmsg(family),
    op: 'list nftables chains',
    object: '',
  };
}

/** The name of a table from an NFT_MSG_NEWTABLE message. */
export function parseNftTable(m: Message): { family: number; name: string } {
  return {
    family: m.payload.readUInt8(0),
    name: attrString(parseAttrs(m.payload, 4).get(NFTA_TABLE_NAME)) ?? '',
  };
}

/** Decodes an NFT_MSG_NEWCHAIN message. */
export function parseNftChain(m: Message): NftChain {
  const at = parseAttrs(m.payload, 4);
  return {
    family: m.payload.readUInt8(0),
    table: attrString(at.get(NFTA_CHAIN_TABLE)) ?? '',
    name: attrString(at.get(NFTA_CHAIN_NAME)) ?? '',
    base: at.has(NFTA_CHAIN_HOOK),
  };
}
