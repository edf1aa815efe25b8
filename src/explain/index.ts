export { explain, explainAll } from './explain.js';
export { formatExplanation, formatPath } from './format.js';
export { checkExpectations, predictMatrix } from './matrix.js';
export * from './types.js';
