/**
 * Units of fault values as tc spells them: rates (`10mbit`, `2mbps`), durations (`20ms`, `1.5s`) and
 * percentages (`5%`), read into kernel units (bit/s, microseconds, a fraction) and written back.
 */
const NUMBER = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z\u00b5%]*)$/;

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 2 ** 10,
  mibit: 2 ** 20,
  gibit: 2 ** 30,
  tibit: 2 ** 40,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 2 ** 10,
  mibps: 8 * 2 ** 20,
  gibps: 8 * 2 ** 30,
  tibps: 8 * 2 ** 40,
};

const DURATION_UNITS: Record<string, number> = { us: 1, µs: 1, ms: 1e3, s: 1e6, m: 60e6, min: 60e6 };

/** The fastest rate accepted: tbf and netem hold rates in 64 bits of bytes per second, 10 tbit is plenty. */
const MAX_RATE = 1e13;

/** A value read from text, or the predicate saying why it is not one (`must be a rate like 10mbit, ...`). */
export type Parsed<T> = { value: T } | { problem: string };

/** Bits per second of `10mbit` (tc's units, case-insensitive; `bps` is bytes per second, as in tc). */
export function parseRate(text: string | number): Parsed<number> {
  const problem = `must be a rate like 10mbit, 500kbit or 1gbit, not '${text}'`;
  let bits: number;
  if (typeof text === 'number') bits = text;
  else {
    const m = NUMBER.exec(text.trim());
    const unit = m ? RATE_UNITS[m[2].toLowerCase()] : undefined;
    if (!m || unit === undefined) return { problem };
    bits = Number(m[1]) * unit;
  }
  if (!Number.isFinite(bits) || bits < 8) return { problem: `${problem}: at least 8bit (one byte a second)` };
  if (bits > MAX_RATE) return { problem: `${problem}: at most 10tbit` };
  return { value: Math.round(bits) };
}

/** Microseconds of `20ms` (units us, ms, s, m); `0` needs no unit. */
export function parseDuration(text: string | number, maxUs: number): Parsed<number> {
  const problem = `must be a duration like 20ms, 1.5s or 800us, not '${text}'`;
  let us: number;
  if (typeof text === 'number') {
    if (text !== 0) return { problem: `${problem}: give it a unit` };
    us = 0;
  } else {
    const m = NUMBER.exec(text.trim());
    if (!m) return { problem };
    const unit = m[2] === '' && Number(m[1]) === 0 ? 1 : DURATION_UNITS[m[2]];
    if (unit === undefined) return { problem: m[2] === '' ? `${problem}: give it a unit` : problem };
    us = Number(m[1]) * unit;
  }
  if (us > maxUs) return { problem: `${problem}: at most ${formatDuration(maxUs)}` };
  return { value: Math.round(us) };
}

/** The fraction of `5%` (at most two decimals: the nftables fallback counts in 0.01 % steps). */
export function parseLoss(text: string | number): Parsed<number> {
  const problem = `must be a percentage like 5% or 0.5%, not '${text}'`;
  let fraction: number;
  if (typeof text === 'number') fraction = text;
  else {
    const m = NUMBER.exec(text.trim());
    if (m?.[2] !== '%') return { problem };
    fraction = Number(m[1]) / 100;
  }
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1)
    return { problem: `${problem}: 0% to 100%` };
  const basisPoints = fraction * 10000;
  if (Math.abs(basisPoints - Math.round(basisPoints)) > 1e-6) {
    return { problem: `${problem}: at most two decimals (0.01% steps)` };
  }
  return { value: Math.round(basisPoints) / 10000 };
}

function trim(n: number): string {
  return String(Number(n.toFixed(3)));
}

/** tc's spelling of a rate in bits per second: `10mbit`, `1500kbit`, `12bit`. */
export function formatRate(bits: number): string {
  for (const [unit, k] of [
    ['tbit', 1e12],
    ['gbit', 1e9],
    ['mbit', 1e6],
    ['kbit', 1e3],
  ] as const) {
    if (bits >= k && bits % (k / 1000) === 0) return `${trim(bits / k)}${unit}`;
  }
  return `${bits}bit`;
}

/** tc's spelling of a duration in microseconds: `20ms`, `1.5s`, `800us`. */
export function formatDuration(us: number): string {
  if (us >= 1e6 && us % 1e3 === 0) return `${trim(us / 1e6)}s`;
  if (us >= 1e3) return `${trim(us / 1e3)}ms`;
  return `${us}us`;
}

/** `5%`, `0.25%`. */
export function formatLoss(fraction: number): string {
  return `${trim(fraction * 100)}%`;
}
