/**
 * A test process that holds a lab: `node --import tsx test/helpers/held-lab.ts HOSTNS NAME PREFIX [GRACE_MS]`
 * brings up a two-node lab with a named process (which ignores SIGTERM) and a `lab.spawn` child, prints one
 * JSON line (the pids and namespaces), and waits to be signalled. The test that runs it checks what is left.
 */
import { Lab } from '../../src/lab/lab.js';

const [hostNetns, name, prefix, grace] = process.argv.slice(2);
const lab = await Lab.up(
  {
    name,
    prefix,
    topology: {
      nodes: {
        a: {
          processes: [{ name: 'stubborn', command: `sh -c 'trap "" TERM; exec sleep 1021'` }],
        },
        b: {},
      },
      links: [{ endpoints: ['a:e0', 'b:e0'] }],
    },
  },
  { hostNetns, teardownGraceMs: grace === undefined ? 200 : Number(grace) },
);
const child = lab.spawn('b', 'sleep', ['1022'], { stdio: 'ignore' });
console.log(
  JSON.stringify({
    pids: [lab.process('a', 'stubborn').pid, child.pid],
    namespaces: lab.topology.nodes.map((n) => n.netns),
  }),
);
setInterval(() => {}, 1000);
