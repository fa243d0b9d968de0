// Every dnd workflow, for Worker.create({ workflowsPath }) and for typed client starts.
// Deterministic only: this module tree is bundled into the workflow sandbox.
export { collectZoo, collectZooSet } from './collect-zoo';
export { buildPairs, trainGenerator, evaluate } from './step-workflows';
export { dndPipeline, leaveOneOut } from './pipeline';
export { nightlyEvaluation } from './nightly';
export { progressQuery } from './common';
