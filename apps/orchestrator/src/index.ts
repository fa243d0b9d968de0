// Public API of @dnd/orchestrator: everything other packages may use is exported here by name.
export { buildCli } from './cli';
