// `dnd worker` (runWorkerCommand, the CLI's own code path) in its own process for the fleet test, on the demo
// steps with a unit log (or the real steps with DND_TEST_STEPS=real): flags come as JSON in DND_TEST_WORKER_FLAGS, the unit log path in DND_TEST_UNIT_LOG,
// the prebuilt workflow bundle in DND_TEST_BUNDLE. Everything else (Temporal, S3) comes from flags and env
// as a user gives them. Test support only.
import * as fs from 'fs';
import { createDemoSteps } from '../../src/demo-steps';
import { runWorkerCommand, type WorkerCommandOptions } from '../../src/commands/worker-command';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`fleet-worker-child: ${k} is not set`);
  return v;
};
const flags = JSON.parse(env('DND_TEST_WORKER_FLAGS')) as WorkerCommandOptions;
const log = env('DND_TEST_UNIT_LOG');
// DND_TEST_STEPS=real: the steps createStepFunctions picks (DND_STEPS=real in the env), without a unit log.
runWorkerCommand(flags, {
  steps: process.env['DND_TEST_STEPS'] === 'real' ? undefined : createDemoSteps({ onUnit: (unit, phase) => fs.appendFileSync(log, `${process.pid} ${flags.queue} ${phase} ${unit}\n`) }),
  workflowBundle: { codePath: env('DND_TEST_BUNDLE') },
}).catch((e) => {
  process.stderr.write(`fleet-worker-child: ${(e as Error).stack}\n`);
  process.exit(1);
});
