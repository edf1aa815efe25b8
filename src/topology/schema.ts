import { z } from 'zod';
import { impairSchema, timelineSchema } from './faults.js';
import { cidrOf, isAddress } from './ip.js';
import {
  interfaceNameProblem,
  labNameProblem,
  NAME_PATTERN,
  nodeNameProblem,
  prefixProblem,
  sysctlKeyProblem,
} from './names.js';
import { filesSchema, privateSchema, processesSchema } from './processes.js';

/**
 * The zod schema of a topology file (`*.nslab.yml`), the single source of truth for both validation and the
 * published JSON Schema (schema/nslab.schema.json). Objects are strict so that a typo is an error, not a silently
 * ignored key. Error messages here are predicates: the loader prefixes them with where they apply
 * (`'mtu' in link 2 must be ...`). Checks that relate several places (undeclared nodes, duplicate addresses,
 * gateways) are done by the resolver. The file takes containerlab's shape: `kind: linux` is a namespace, and
 * `topology.kinds` gives defaults per kind; containerlab's container settings (`image`, ...) are refused by
 * the loader with a sentence of their own (see `CONTAINER_KEYS`).
 */

/**
 * containerlab's settings of nodes (also in `defaults` and `kinds`) and of the file that only mean something for
 * containers or network operating systems: nslab runs no containers, so each is refused where it is written.
 */
export const CONTAINER_KEYS: ReadonlySet<string> = new Set([
  'image',
  'image-pull-policy',
  'type',
  'license',
  'startup-config',
  'startup-delay',
  'enforce-startup-config',
  'suppress-startup-config',
  'auto-remove',
  'restart-policy',
  'binds',
  'ports',
  'user',
  'entrypoint',
  'cmd',
  'env',
  'env-files',
  'labels',
  'group',
  'mgmt-ipv4',
  'mgmt-ipv6',
  'mgmt_ipv4',
  'mgmt_ipv6',
  'publish',
  'network-mode',
  'runtime',
  'cpu',
  'cpu-set',
  'memory',
  'shm-size',
  'cap-add',
  'devices',
  'extras',
  'stages',
  'dns',
  'certificate',
  'healthcheck',
  'aliases',
  'components',
  'wait-for',
  'config',
  'mgmt',
]);

/** Why `text` cannot be an interface address of the given family (`10.0.0.1/24`), or undefined when it can. */
function interfaceCidrProblem(text: string, family: 4 | 6): string | undefined {
  const c = text.includes('/') ? cidrOf(text) : undefined;
  if (c?.family === family) return undefined;
  const example = family === 4 ? '10.0.0.1/24' : '2001:db8::1/64';
  return `must be an IPv${family} address with a prefix length (like ${example}), not '${text}'`;
}

/** Why `text` cannot be an address pool of the given family (or `none`), or undefined when it can. */
function poolProblem(text: string, family: 4 | 6): string | undefined {
  if (text === 'none') return undefined;
  const c = text.includes('/') ? cidrOf(text) : undefined;
  const maxLen = family === 4 ? 30 : 64;
  if (c?.family === family && c.prefixLen <= maxLen && c.network === `${c.address}/${c.prefixLen}`) return;
  const example = family === 4 ? '10.200.0.0/16' : 'fd00:200::/48';
  return `must be an IPv${family} network of at most /${maxLen} (like ${example}) or 'none', not '${text}'`;
}

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Why `text` cannot be set as an interface's MAC address, or undefined when it can. */
function macProblem(text: string): string | undefined {
  if (!MAC_PATTERN.test(text)) return `must be a MAC address like 02:00:00:00:00:01, not '${text}'`;
  if (Number.parseInt(text.slice(0, 2), 16) & 1) {
    return `must be a unicast MAC address (lowest bit of the first byte clear), not the multicast '${text}'`;
  }
  if (/^(00:){5}00$/.test(text)) return 'must not be all zeros';
  return undefined;
}

/** A string checked by `problem`, whose message becomes the issue message. */
function checked(problem: (s: string) => string | undefined) {
  return z.string().refine((s) => problem(s) === undefined, { error: (iss) => problem(String(iss.input)) });
}

const name = checked(nodeNameProblem);
const routing = z
  .enum(['auto', 'static', 'external'])
  .describe(
    'auto: nslab computes static routes to every subnet of the lab (shortest path); static: only the routes written; external: a routing daemon of the node installs them (nslab installs none, and predicts the shortest paths a routing protocol converges to).',
  );
const mtu = z.int().min(68).max(65535).describe('MTU in bytes (ip link set dev X mtu N).');
const exec = z
  .array(
    z.union([
      z.string(),
      z.strictObject({
        command: z.string().describe('Shell command (run with sh -c).'),
        timeout: z
          .number()
          .positive()
          .max(86400)
          .optional()
          .describe('Seconds the command may run before it counts as failed (default 60).'),
      }),
    ]),
  )
  .describe(
    'Shell commands run inside the namespace after deploy, in order; each must end within its timeout (default 60 s): end a daemon with & to leave it running.',
  );
const sysctls = z
  .record(checked(sysctlKeyProblem), z.union([z.string(), z.number(), z.boolean()]))
  .describe(
    'Sysctls set inside the namespace (sysctl -w KEY=VALUE), dotted or as a /proc/sys path (net/ipv6/conf/eth0.1/mtu); true is "1", false is "0".',
  );
const ipv4 = checked((s) => interfaceCidrProblem(s, 4));
const ipv6 = checked((s) => interfaceCidrProblem(s, 6));
const ifname = checked(interfaceNameProblem).describe(
  'Interface name inside the namespace, at most 15 bytes.',
);

/** One address per endpoint, null for an end left unaddressed; `[]` means the link has none of this family. */
function perEndpoint(item: z.ZodType<string>, family: 4 | 6) {
  return z
    .array(item.nullable())
    .refine((a) => a.length === 0 || a.length === 2, {
      error: (iss) =>
        `must give one address per endpoint (2 items, null for an end left unaddressed) or be [] for none, not ${(iss.input as unknown[]).length} items`,
    })
    .describe(
      `IPv${family} address of each endpoint, in endpoint order (null leaves that end unaddressed); [] keeps the link without IPv${family}.`,
    );
}

/** Text that reads as an address attempt (digits and dots, or a colon), never as a node name. */
const looksLikeAddress = (s: string) => /^[\d.]+$/.test(s) || s.includes(':');

/** Why `text` cannot be a route destination, or undefined when it can. */
function dstProblem(text: string): string | undefined {
  if (text === 'default') return undefined;
  if (text.includes('/') ? cidrOf(text) : !looksLikeAddress(text) && NAME_PATTERN.test(text))
    return undefined;
  const host = isAddress(text) ? ` (one address is ${text}/${text.includes(':') ? 128 : 32})` : '';
  return `must be a network like 10.1.20.0/24, 'default' or a node name, not '${text}'${host}`;
}

/** Why `text` cannot be a gateway, or undefined when it can. */
function viaProblem(text: string): string | undefined {
  if (isAddress(text)) return undefined;
  const colon = text.indexOf(':');
  const node = colon < 0 ? text : text.slice(0, colon);
  const iface = colon < 0 ? undefined : text.slice(colon + 1);
  const nameOk = NAME_PATTERN.test(node) && !/^[\d.]+$/.test(node);
  if (nameOk && (iface === undefined || interfaceNameProblem(iface) === undefined)) return undefined;
  return `must be an address (like 10.0.0.1), a node (r2) or a node's interface (r2:e21), not '${text}'`;
}

const route = z
  .strictObject({
    dst: checked(dstProblem).describe(
      "Destination network; 'default' (0.0.0.0/0 or ::/0; its family follows via); or a node name: one host route to each of its addresses (/32, /128) not on a subnet of this node.",
    ),
    via: checked(viaProblem)
      .optional()
      .describe(
        "Gateway: an address on a subnet connected to the node, or a node (r2) or a node's interface (r2:e21) on a segment shared with it, meaning its address there.",
      ),
    dev: ifname.optional().describe('Output interface; found from the gateway when left out.'),
    metric: z.int().min(0).max(0xffffffff).optional(),
    table: z.int().min(1).max(0xffffffff).optional().describe('Routing table id; main (254) when left out.'),
  })
  .describe('ip route add DST [via GW] [dev DEV] [metric M] [table T]');

const kind = z
  .enum(['netns', 'linux', 'bridge', 'host'])
  .describe(
    "netns: a namespace (default); linux: the same (containerlab's name, without image); bridge: a namespace holding bridge br0 whose links are its ports; host: only the node named host.",
  );

const node = z
  .strictObject({
    kind: kind.optional(),
    sysctls: sysctls.optional(),
    routes: z.array(route).optional(),
    exec: exec.optional(),
    routing: routing.optional(),
    processes: processesSchema.optional(),
    files: filesSchema.optional(),
    private: privateSchema.optional(),
    ipv4: z
      .array(ipv4)
      .optional()
      .describe('Bridge nodes only: IPv4 addresses of the bridge device br0 itself.'),
    ipv6: z
      .array(ipv6)
      .optional()
      .describe('Bridge nodes only: IPv6 addresses of the bridge device br0 itself.'),
  })
  .describe("A namespace of the lab; the node named 'host' is the namespace nslab runs from.");

const endpointObject = z.strictObject({
  node: name,
  interface: ifname,
  ipv4: z.union([ipv4, z.array(ipv4)]).optional(),
  ipv6: z.union([ipv6, z.array(ipv6)]).optional(),
  mac: checked(macProblem).optional(),
  mtu: mtu.optional(),
  impair: impairSchema.optional(),
});

/** Why `text` is not a `node:interface` endpoint, or undefined when it is. */
function endpointProblem(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon < 1 || !NAME_PATTERN.test(text.slice(0, colon))) {
    return `must be 'node:interface' (like 'ns0:veth12'), not '${text}'`;
  }
  const p = interfaceNameProblem(text.slice(colon + 1));
  return p && `has an interface name that ${p}`;
}

const endpoint = z
  .union([checked(endpointProblem), endpointObject])
  .describe("'node:interface', or a mapping with node, interface and per-end settings.");

const link = z
  .strictObject({
    type: z.literal('veth').optional().describe("containerlab's link type; nslab links are veth pairs."),
    endpoints: z.array(endpoint).length(2, { error: 'must list exactly two endpoints' }),
    ipv4: perEndpoint(ipv4, 4).optional(),
    ipv6: perEndpoint(ipv6, 6).optional(),
    mtu: mtu.optional(),
    impair: impairSchema.optional(),
  })
  .describe('A veth pair between two nodes.');

const expectation = z
  .strictObject({
    from: name.describe('Node the ping starts from.'),
    to: z.string().describe('A node (every address it has on the lab links) or a literal address.'),
    reach: z.boolean().describe('Whether the ping must succeed (true) or must fail (false).'),
    hops: z
      .int()
      .min(0)
      .max(255)
      .optional()
      .describe(
        'Routers crossed on the way, as the reply TTL tells (ttl=63 is 1 hop; a direct neighbour is 0).',
      ),
    family: z.literal([4, 6]).optional().describe('Test only IPv4 or only IPv6.'),
  })
  .describe('A reachability check run by `nslab check`.');

const defaults = z
  .strictObject({
    kind: z.enum(['netns', 'linux', 'bridge']).optional(),
    sysctls: sysctls.optional(),
    mtu: mtu.optional(),
    exec: exec.optional(),
    routing: routing.optional(),
    files: filesSchema.optional(),
    private: privateSchema.optional(),
    'ipv4-pool': checked((s) => poolProblem(s, 4))
      .optional()
      .describe(
        "Where IPv4 addresses left out of the file come from (10.200.0.0/16 when not given); 'none': no IPv4 is added.",
      ),
    'ipv6-pool': checked((s) => poolProblem(s, 6))
      .optional()
      .describe(
        "Where IPv6 addresses left out of the file come from (fd00:200::/48 when not given); 'none': no IPv6 is added.",
      ),
  })
  .describe(
    'Values every node and link gets unless it sets its own; never applied to the host node. Addresses are added only in the families the file writes (IPv4 when it writes none), and in those whose pool is set.',
  );

const kindDefaults = z
  .strictObject({
    sysctls: sysctls.optional(),
    exec: exec.optional(),
    routing: routing.optional(),
    processes: processesSchema.optional(),
    files: filesSchema.optional(),
    private: privateSchema.optional(),
  })
  .describe('Values every node of this kind gets unless it sets its own (they win over topology.defaults).');

export const topologySchema = z.strictObject({
  name: checked(labNameProblem).describe('Lab name; also names the ledger /run/nslab/NAME.json.'),
  prefix: checked(prefixProblem)
    .optional()
    .describe("Prepended to node names to form namespace names; '' when not given."),
  routing: routing.optional(),
  private: z
    .boolean()
    .optional()
    .describe(
      "true: the lab lives in a sandbox of its own (user, mount, pid and network namespaces), invisible to the machine's `ip netns list`, as `nslab up --private` makes it (what `up` does for a user who is not root). Not the `private:` directories of a node.",
    ),
  expect: z.array(expectation).optional(),
  timeline: timelineSchema.optional(),
  topology: z.strictObject({
    defaults: defaults.optional(),
    // Any name here, so that the settings of a kind nslab lacks are checked too; the resolver refuses the name.
    kinds: z
      .record(z.string(), kindDefaults.nullable())
      .optional()
      .describe(
        "Defaults per kind ('netns', 'linux', 'bridge'), as containerlab's kinds: node > kind > defaults.",
      ),
    nodes: z.record(name, node.nullable()),
    links: z.array(link).optional(),
  }),
});

/**
 * True when what `schema` returns for a valid value is that value, unchanged: no default, transform, pipe, catch
 * or coercion anywhere in it (refinements only check).
 */
export function keepsValues(schema: z.ZodType): boolean {
  type Def = Record<string, unknown> & { type: string; coerce?: boolean };
  const seen = new Set<unknown>();
  const pure = (s: unknown): boolean => {
    if (seen.has(s)) return true;
    seen.add(s);
    const def = (s as { _zod: { def: Def } })._zod.def;
    if (
      ['default', 'prefault', 'catch', 'pipe', 'transform', 'lazy', 'promise'].includes(def.type) ||
      def.coerce
    )
      return false;
    const inner = [
      def.innerType,
      def.element,
      def.keyType,
      def.valueType,
      ...((def.options as unknown[]) ?? []),
    ];
    if (def.shape) inner.push(...Object.values(def.shape as Record<string, unknown>));
    return inner.every((x) => x === undefined || pure(x));
  };
  return pure(schema);
}

let topologyKeepsValues: boolean | undefined;

/**
 * `keepsValues(topologySchema)`, computed once: a value known to be valid then needs no second pass to be typed,
 * and a default added to the schema later turns this off by itself.
 */
export function schemaKeepsValues(): boolean {
  topologyKeepsValues ??= keepsValues(topologySchema);
  return topologyKeepsValues;
}

/** A topology file as written, after schema validation (nothing resolved yet). */
export type TopologyFile = z.infer<typeof topologySchema>;
export type TopologyNodeSpec = z.infer<typeof node>;
export type TopologyLinkSpec = z.infer<typeof link>;
export type TopologyEndpointSpec = z.infer<typeof endpoint>;
export type TopologyRouteSpec = z.infer<typeof route>;
export type TopologyKindSpec = z.infer<typeof kindDefaults>;

/**
 * JSON Schema (draft 2020-12) of topology files, generated from `topologySchema`, for editors
 * (`# yaml-language-server: $schema=...`). Refinements such as CIDR syntax are not expressible there and are
 * checked only by nslab itself.
 */
export function topologyJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(topologySchema, { io: 'input', target: 'draft-2020-12' });
  return {
    $schema,
    $id: 'urn:nslab:topology',
    title: 'nslab topology',
    description:
      'A network-namespace lab for nslab (*.nslab.yml): nodes (namespaces, bridges, the host), veth links between them, addresses, routes, sysctls and reachability expectations.',
    ...rest,
  };
}

/** The text of schema/nslab.schema.json: `topologyJsonSchema()` as indented JSON with a final newline. */
export function topologyJsonSchemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}
