/**
 * The kernel's neighbour tables (ARP for IPv4, ND for IPv6), as far as probing cares: one table per family for
 * every namespace of the machine, capped by `gc_thresh3`, and its counter of failed allocations.
 */
import { readFileSync } from 'node:fs';
import type { Family } from '../reach/types.js';

/** Counters of one neighbour table (`/proc/net/stat/arp_cache`, `/proc/net/stat/ndisc_cache`). */
export interface NeighbourTableStats {
  /** Entries in the table now (every namespace's). */
  entries: number;
  /** Times an entry could not be made because the table was full (`table_fulls`, summed over CPUs). */
  tableFulls: number;
}

const STAT_FILE: Record<Family, string> = { 4: '/proc/net/stat/arp_cache', 6: '/proc/net/stat/ndisc_cache' };

/** The sysctl that caps a family's neighbour table (one value for the whole machine). */
export function neighbourLimitSysctl(family: Family): string {
  return `net.ipv${family}.neigh.default.gc_thresh3`;
}

/**
 * Reads a neighbour table's counters (`cat /proc/net/stat/arp_cache`): a header line, then one line of hex
 * numbers per CPU; `entries` is the table's own count (the same on every line), the other columns are per CPU.
 * Undefined when the file cannot be read or has no `table_fulls` column (kernels before 4.9).
 */
export function neighbourTableStats(family: Family): NeighbourTableStats | undefined {
  let text: string;
  try {
    text = readFileSync(STAT_FILE[family], 'utf8');
  } catch {
    return undefined;
  }
  const [head, ...rows] = text.trim().split('\n');
  const cols = head.trim().split(/\s+/);
  const full = cols.indexOf('table_fulls');
  const entries = cols.indexOf('entries');
  if (full < 0 || entries < 0 || rows.length === 0) return undefined;
  let tableFulls = 0;
  for (const row of rows) tableFulls += Number.parseInt(row.trim().split(/\s+/)[full], 16) || 0;
  return { entries: Number.parseInt(rows[0].trim().split(/\s+/)[entries], 16) || 0, tableFulls };
}

/**
 * The cap of a family's neighbour table (`sysctl -n net.ipv4.neigh.default.gc_thresh3`), as the initial
 * namespace shows it; undefined elsewhere. The kernel has one table per family for all namespaces, and the cap
 * is set only in the initial namespace: a new namespace has no `neigh.default` (older kernels show the same
 * variable there), so a sandbox cannot raise it for itself alone.
 */
export function neighbourLimit(family: Family): number | undefined {
  try {
    const v = Number(readFileSync(`/proc/sys/net/ipv${family}/neigh/default/gc_thresh3`, 'utf8').trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}
