/** The pure plan layer: desired lab + observed kernel state -> ordered operations, and their shell spelling. */
export { ownershipAlias, PlanError } from './common.js';
export { planDown } from './down.js';
export { exportScript } from './export.js';
export { describeOp, type FormatContext, formatOp, shellQuote } from './format.js';
export { ledgerAfter } from './ledger.js';
export type * from './types.js';
export { type PlanUpOptions, planUp } from './up.js';
