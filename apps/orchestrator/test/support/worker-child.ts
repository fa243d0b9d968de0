// A dnd worker in its own process, for the tests that SIGKILL a worker mid-step. Reads its setup from
// env: DND_TEST_ADDRESS, DND_TEST_QUEUE, DND_TEST_STORE, DND_TEST_BUNDLE (workflow bundle file),
// DND_TEST_UNIT_LOG (one line per demo-step unit start/done). Prints "ready" once polling. Test support only.
import * as fs from 'fs';
import { NativeConnection } from '@temporalio/worker';
import { LocalArtifactStore } from '@dnd/core';
import { createDemoSteps } from '../../src/demo-steps';
import { createDndWorker } from '../../src/worker';

async function main(): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (!v) throw new Error(`worker-child: ${k} is not set`);
    return v;
  };
  const log = env('DND_TEST_UNIT_LOG');
  const connection = await NativeConnection.connect({ address: env('DND_TEST_ADDRESS') });
  const worker = await createDndWorker({
    connection, role: 'cpu', taskQueue: env('DND_TEST_QUEUE'), store: new LocalArtifactStore(env('DND_TEST_STORE')),
    steps: createDemoSteps({ onUnit: (unit, phase) => fs.appendFileSync(log, `${process.pid} ${phase} ${unit}\n`) }),
    workflowBundle: { codePath: env('DND_TEST_BUNDLE') }, stickyQueueScheduleToStartTimeoutMs: 1000,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
}

main().catch((e) => {
  process.stderr.write(`worker-child: ${(e as Error).stack}\n`);
  process.exit(1);
});
