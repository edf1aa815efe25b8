export { openProbeSocket, openProbeSockets, probe } from './icmp.js';
export { initialTtl, type PingMatrixOptions, pingMatrix } from './matrix.js';
export { hopsFromTtl, icmpErrorText, internetChecksum } from './packet.js';
export * from './types.js';
