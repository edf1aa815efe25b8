// Texts shared by the topology tests.

/** The seed file of the brief, exactly. */
export const SEED = `name: seed
topology:
  nodes:
    host:                       # the namespace nslab runs from: the tutorial's "default network namespace"
      sysctls:
        net.ipv4.ip_forward: 1
    ns0:
      routes:
        - dst: 10.1.20.0/24
          via: 10.1.10.1
    ns1:
      routes:
        - dst: 10.1.10.0/24
          via: 10.1.20.1
  links:
    - endpoints: ["host:veth11", "ns0:veth12"]
      ipv4: ["10.1.10.1/24", "10.1.10.2/24"]
    - endpoints: ["host:veth21", "ns1:veth22"]
      ipv4: ["10.1.20.1/24", "10.1.20.2/24"]
`;
