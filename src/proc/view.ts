/**
 * A node's own view of the filesystem: a mount namespace made for each process of the node, holding the node's
 * bind mounts (its files, its private directories, its /etc/hosts), as `ip netns exec` gives `/etc/netns/NAME`.
 * Nothing of it is seen from the host: the mounts are made inside the new namespace, which receives the host's
 * later mounts (a slave) but sends none back.
 */

/** Where a node's bind mounts are listed: an fstab of `SOURCE TARGET none bind 0 0` lines. */
export interface MountView {
  fstab: string;
}

/** A path as fstab(5) writes it: space, tab, newline and backslash in octal. */
export function fstabPath(path: string): string {
  return path.replace(/[ \t\n\\]/g, (ch) => `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** One bind mount of a view (`mount --bind SOURCE TARGET`), as an fstab line. */
export function fstabLine(source: string, target: string): string {
  return `${fstabPath(source)} ${fstabPath(target)} none bind 0 0`;
}

/**
 * The command line that runs `argv` in the view: `unshare --mount --propagation slave -- sh -c 'mount --all
 * --fstab FSTAB && exec "$@"' FSTAB ARGV...`. The process keeps the pid it started with (unshare and sh exec), so
 * its pid is the command's; the mounts cost one `mount` process (about 3 ms here). Node cannot do this itself:
 * a multi-threaded process may not unshare its mount namespace.
 */
export function inView(view: MountView | undefined, argv: readonly string[]): string[] {
  if (!view) return [...argv];
  return [
    'unshare',
    '--mount',
    '--propagation',
    'slave',
    '--',
    'sh',
    '-c',
    'mount --all --fstab "$0" && exec "$@"',
    view.fstab,
    ...argv,
  ];
}
