/**
 * nslab's public API. Start with `Lab`:
 *
 * ```ts
 * import { Lab } from 'nslab';
 * const lab = await Lab.load('examples/seed.nslab.yml', { hostNetns: 'sandbox' });
 * await lab.up();
 * const report = await lab.check();
 * await lab.down();
 * ```
 */
export { ApplyError, InterruptedError } from './apply/execute.js';
export { LedgerDamagedError } from './apply/store.js';
export { explain, explainAll } from './explain/explain.js';
export { formatExplanation, formatPath } from './explain/format.js';
export { checkExpectations as predictExpectations, predictMatrix } from './explain/matrix.js';
export {
  type ExpectationResult,
  ExplainError,
  type ExplainOptions,
  type Explanation,
  type Failure,
  type Hop,
  type MatrixOptions,
  type PredictedMatrix,
  type PredictedPair,
  type Verdict,
} from './explain/types.js';
export { type DemoEvent, runDemo, tutorialTopology } from './lab/demo.js';
export {
  type DownOptions,
  type DownResult,
  type GcOptions,
  type GcResult,
  type InterfaceStatus,
  Lab,
  type LabOptions,
  type LabStatus,
  type LabSummary,
  type NodeStatus,
  type ProcessStatus,
  privileged,
  requirePrivilege,
  type UpOptions,
  type UpResult,
} from './lab/lab.js';
export { type CheckReport, compareMatrices, type Finding } from './lab/reach.js';
export { NetlinkError } from './netlink/socket.js';
export { NetnsHandle } from './netns/handle.js';
export { listNamedNetns, NetnsError } from './netns/named.js';
export { PlanError } from './plan/common.js';
export { describeOp, formatOp } from './plan/format.js';
export type { Ledger, ObservedState, Op, Plan } from './plan/types.js';
export { formatExpectations, formatMatrix } from './probe/format.js';
export { probe } from './probe/icmp.js';
export { checkExpectations, pingMatrix } from './probe/matrix.js';
export {
  type ExpectationCheck,
  type PingMatrix,
  ProbeError,
  type ProbeOptions,
  type ProbeResult,
  type ProbeStatus,
  type ProbeTarget,
} from './probe/types.js';
export {
  RENDER_FORMATS,
  type RenderFormat,
  type RenderOptions,
  render,
  toDot,
  toMermaid,
  toPng,
  toSvg,
} from './render/index.js';
export { NslabError } from './sys/errors.js';
export { TopologyError } from './topology/errors.js';
export { loadTopology, parseTopology } from './topology/load.js';
export { topologyJsonSchema } from './topology/schema.js';
export type * from './topology/types.js';
