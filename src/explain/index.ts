export { explain, explainAll } from './explain.js';
export { formatExplanation, formatPath } from './format.js';
export { predictMatrix, toResult } from './matrix.js';
export * from './types.js';
