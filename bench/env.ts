/**
 * The environment of the processes the benches time: this one's, without NODE_EXTRA_CA_CERTS. Node reads and
 * parses that file at every start, before any JavaScript runs: on the development machine, where it names the
 * system's 144 CA certificates, that is 0.085 s of the 0.13 s that `node -e 0` takes with it (0.045 s without).
 * nslab makes no TLS connection, and `sudo`, which is how users run it, leaves the variable out (its default
 * env_reset). bench/star.ts prints Node's own start both ways.
 */
export function benchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
