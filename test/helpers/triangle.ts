/**
 * The OSPF triangle of the tests: routers r1, r2, r3 joined two by two, a host h1, h2, h3 on each. These are its
 * host nodes and its links, as they stand in a topology file under `nodes:` (after the routers) and `links:`.
 */
export const TRIANGLE_HOSTS_AND_LINKS = `    h1: { routing: auto }
    h2: { routing: auto }
    h3: { routing: auto }
  links:
    - endpoints: ["r1:eh", "h1:e0"]
      ipv4: [10.1.1.1/24, 10.1.1.2/24]
    - endpoints: ["r2:eh", "h2:e0"]
      ipv4: [10.1.2.1/24, 10.1.2.2/24]
    - endpoints: ["r3:eh", "h3:e0"]
      ipv4: [10.1.3.1/24, 10.1.3.2/24]
    - endpoints: ["r1:e12", "r2:e21"]
      ipv4: [10.0.12.1/30, 10.0.12.2/30]
    - endpoints: ["r1:e13", "r3:e31"]
      ipv4: [10.0.13.1/30, 10.0.13.2/30]
    - endpoints: ["r2:e23", "r3:e32"]
      ipv4: [10.0.23.1/30, 10.0.23.2/30]
`;
