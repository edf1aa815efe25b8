export { type FormatOptions, formatExpectations, formatMatrix } from './format.js';
export { openProbeSocket, openProbeSockets, probe } from './icmp.js';
export {
  checkExpectations,
  l3Nodes,
  nodeAddresses,
  type PingMatrixOptions,
  pingMatrix,
  summarizeMatrix,
  worstStatus,
} from './matrix.js';
export { hopsFromTtl, icmpErrorText, internetChecksum } from './packet.js';
export * from './types.js';
