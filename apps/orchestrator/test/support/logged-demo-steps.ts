// The demo steps as a step child process loads them (StepProcessOptions.module): each unit's start and
// end is appended to DND_TEST_UNIT_LOG as `<pid> <phase> <unit>`, so tests count computations across
// processes. Test support only.
import * as fs from 'fs';
import { createDemoSteps } from '../../src/demo-steps';
import type { StepFunctions } from '../../src/step-contract';

export function createLoggedDemoSteps(): StepFunctions {
  const log = process.env['DND_TEST_UNIT_LOG'];
  return createDemoSteps({ onUnit: (unit, phase) => { if (log) fs.appendFileSync(log, `${process.pid} ${phase} ${unit}\n`); } });
}
