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
export { predictMatrix } from './explain/matrix.js';
export {
  ExplainError,
  type ExplainOptions,
  type Explanation,
  type Hop,
  type MatrixOptions,
} from './explain/types.js';
export type { PlayedEvent } from './faults/timeline.js';
export { type DemoEvent, runDemo, tutorialTopology } from './lab/demo.js';
export type { FaultStatus, ImpairmentStatus, ProcessHooks } from './lab/faults.js';
export {
  type DownOptions,
  type DownResult,
  type ExecOptions,
  type ExecResult,
  type GcOptions,
  type GcResult,
  type InterfaceStatus,
  Lab,
  type LabOptions,
  type LabProcess,
  type LabStatus,
  type LabSummary,
  type LabUpOptions,
  type NamedProcess,
  type NamedProcessStatus,
  type NodeStatus,
  type ProcessStatus,
  privileged,
  requirePrivilege,
  type TopologySpec,
  type UpOptions,
  type UpResult,
} from './lab/lab.js';
export { type CheckOptions, type CheckReport, compareMatrices, type Finding } from './lab/reach.js';
export type { WaitOptions } from './lab/waits.js';
export type { RouteInfo } from './netlink/route.js';
export { NetlinkError } from './netlink/socket.js';
export { NetnsHandle } from './netns/handle.js';
export { listNamedNetns, NetnsError } from './netns/named.js';
export { PlanError } from './plan/common.js';
export { describeOp, formatOp } from './plan/format.js';
export type { Ledger, ObservedState, Op, Plan } from './plan/types.js';
export { probe } from './probe/icmp.js';
export { type PingMatrixOptions, pingMatrix } from './probe/matrix.js';
export { ProbeError, type ProbeOptions, type ProbeTarget } from './probe/types.js';
export { judgeExpectations } from './reach/matrix.js';
export type {
  Direction,
  ExpectationResult,
  Failure,
  Family,
  MatrixCell,
  ReachMatrix,
  ReachResult,
  Verdict,
} from './reach/types.js';
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
export {
  formatExpectations,
  formatMatrix,
  formatMatrixLine,
  formatMatrixSummary,
} from './render/matrix.js';
export { NslabError } from './sys/errors.js';
export { TopologyError } from './topology/errors.js';
export type { Impairment, ImpairSpec, TimelineAction, TimelineEvent } from './topology/faults.js';
export { loadTopology, parseTopology } from './topology/load.js';
export { topologyJsonSchema } from './topology/schema.js';
export type * from './topology/types.js';
