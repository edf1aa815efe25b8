/**
 * The library, loaded when a command runs, not when the commands are registered: `nslab --help`, and commands
 * that do not need it (`down NAME`, `gc`), load neither the topology parser, the kernel layer nor the renderer.
 */
export async function api() {
  return (await import('../lab/lab.js')).Lab;
}

/** Finding labs by name or file (reads state files; loads the kernel layer's bindings). */
export function findApi() {
  return import('../lab/find.js');
}

/** Whether this process may change namespaces. */
export function privilegeApi() {
  return import('../lab/privilege.js');
}

/** cli-table3, for the commands that print tables. */
export async function tableApi() {
  return (await import('cli-table3')).default;
}
