/**
 * The names a topology file gives to kernel objects, and why one cannot be used: each rule is the kernel's (or
 * iproute2's, for namespace names), so that a name the file accepts never fails, or means something else, when
 * the lab is built. Each `...Problem` function returns a predicate for a sentence (`is too long: ...`), or
 * undefined when the name is fine.
 */

/** Node, lab and prefix names: they become namespace names (`ip netns add PREFIX+NAME`). */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const NAME_RULE = "must use only letters, digits, '_', '.' and '-'";

/** A namespace is the file /run/netns/NAME: one file name, at most NAME_MAX (255) bytes. */
export const MAX_NETNS_NAME_BYTES = 255;

/**
 * A lab's name names its ledger and lock, `/run/nslab/NAME@HOSTNS.json` (one file name of at most 255 bytes,
 * with the name of the namespace playing the host), and marks its devices (alias `nslab:NAME`).
 */
export const MAX_LAB_NAME_BYTES = 64;

const bytes = (s: string) => Buffer.byteLength(s);

/** A name as messages quote it: a long one cut to its first 24 characters. */
export function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 24)}...` : name;
}

/**
 * Why `name` cannot be a Linux interface name, or undefined when it can. The kernel's `dev_valid_name()` takes
 * at most 15 bytes (IFNAMSIZ with the NUL), never `.`/`..`, '/', ':' (alias labels) or whitespace; a '%' makes
 * it a template the kernel fills in (`eth%d` becomes eth0); `all` and `default` are taken by
 * /proc/sys/net/ipv{4,6}/conf/{all,default}.
 */
export function interfaceNameProblem(name: string): string | undefined {
  const n = bytes(name);
  if (n === 0) return 'is empty';
  if (/[\x00-\x1f\x7f]/.test(name)) return `contains a control character: ${JSON.stringify(name)}`;
  if (n > 15) return `is too long: '${name}' has ${n} bytes, Linux allows at most 15`;
  if (/[/\s]/.test(name)) return `contains '/' or whitespace: '${name}'`;
  if (name.includes(':')) return `contains ':', which Linux keeps for address labels (eth0:1): '${name}'`;
  if (name.includes('%'))
    return `contains '%', which makes it a template the kernel fills in (eth%d): '${name}'`;
  if (name === '.' || name === '..') return `cannot be '${name}'`;
  if (name === 'all' || name === 'default')
    return `cannot be '${name}': /proc/sys/net/ipv4/conf/${name} holds the settings of every interface`;
  return undefined;
}

/** Why `name` cannot be a node name (it becomes a namespace name), or undefined when it can. */
export function nodeNameProblem(name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return `${NAME_RULE}, not '${name}'`;
  if (name === '.' || name === '..')
    return `cannot be '${name}': it would name the directory /run/netns itself`;
  const n = bytes(name);
  if (n > MAX_NETNS_NAME_BYTES)
    return `is too long: it has ${n} bytes, and a namespace name (/run/netns/NAME) at most ${MAX_NETNS_NAME_BYTES}`;
  return undefined;
}

/** Why `name` cannot be a lab name, or undefined when it can. */
export function labNameProblem(name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return `${NAME_RULE}, not '${name}'`;
  if (name === '.' || name === '..') return `cannot be '${name}'`;
  const n = bytes(name);
  if (n > MAX_LAB_NAME_BYTES)
    return `is too long: it has ${n} bytes, at most ${MAX_LAB_NAME_BYTES} (it names the ledger /run/nslab/NAME@HOSTNS.json, one file name of 255 bytes at most)`;
  return undefined;
}

/** Why `prefix` cannot start namespace names, or undefined when it can. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix !== '' && !NAME_PATTERN.test(prefix)) return `${NAME_RULE}, not '${prefix}'`;
  const n = bytes(prefix);
  if (n >= MAX_NETNS_NAME_BYTES)
    return `is too long: it has ${n} bytes, and a namespace name (/run/netns/NAME) at most ${MAX_NETNS_NAME_BYTES}`;
  return undefined;
}

/** Why `netns` (a prefix and a node name) cannot be a namespace name, or undefined when it can. */
export function netnsNameProblem(netns: string): string | undefined {
  if (netns === '.' || netns === '..')
    return `would be '${netns}', the directory /run/netns itself or its parent`;
  const n = bytes(netns);
  if (n > MAX_NETNS_NAME_BYTES)
    return `would be ${n} bytes long ('${shortName(netns)}'), and a namespace name (/run/netns/NAME) has at most ${MAX_NETNS_NAME_BYTES}`;
  return undefined;
}

/**
 * Why `key` cannot be a sysctl of a namespace, or undefined when it can: `net.` and dot-separated parts
 * (`net.ipv4.ip_forward`), or `net/` and slash-separated parts for names with dots
 * (`net/ipv4/conf/eth0.1/rp_filter`); no part empty (`net..x` and `net.ipv4.` name directories, not settings),
 * `.` or `..`, or with whitespace or control characters.
 */
export function sysctlKeyProblem(key: string): string | undefined {
  if (!/^net[./]/.test(key)) {
    return 'is not a network sysctl: only net.* keys belong to a namespace, others would change the whole machine';
  }
  const sep = key[3];
  const parts = key.slice(4).split(sep);
  const shape = sep === '.' ? 'net.a.b' : 'net/a/b';
  if (parts.some((p) => p === ''))
    return `has an empty part: a sysctl is written ${shape}, each part a name ('${key}')`;
  if (parts.some((p) => /[\s\x00-\x1f\x7f]/.test(p)))
    return `contains whitespace or a control character: ${JSON.stringify(key)}`;
  if (sep === '.' && key.includes('/'))
    return `mixes '.' and '/': write it with dots (net.ipv4.ip_forward) or, for names with dots, with slashes (net/ipv4/conf/eth0.1/rp_filter)`;
  if (sep === '/' && parts.some((p) => p === '.' || p === '..')) return `has a '.' or '..' part: '${key}'`;
  return undefined;
}
