export { NetnsHandle, sysctlPath } from './handle.js';
export {
  addNamedNetns,
  assertHostMountNamespace,
  deleteNamedNetns,
  listNamedNetns,
  NETNS_RUN_DIR,
  NetnsError,
  namedNetnsExists,
  openNamedNetns,
} from './named.js';
export { homeNetnsFd, inNetns } from './thread.js';
