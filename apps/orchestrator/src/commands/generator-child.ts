// The entry point of the process `dnd serve` generates in: opens the generator once, then writes the adapters
// of each request it is sent (generateAdapters, as `dnd generate`) and answers over IPC. The tensor work runs
// here, so the server's event loop keeps answering /healthz, /metrics and 429s while a LoRA is made. Exits
// when the parent goes away. Not the parent's side (generator-process.ts).
import { initBackend } from '@dnd/core';
import { serializeError } from '../activities/step-ipc';
import { generateAdapters, openGenerator, type OpenGenerator } from './lora-generation';
import type { FromGeneratorChild, ToGeneratorChild } from './generator-process';

const send = (m: FromGeneratorChild): void => { if (process.send && process.connected) process.send(m); };
let g: OpenGenerator | null = null;
// One request at a time, in arrival order (the parent sends one at a time anyway).
let chain: Promise<void> = Promise.resolve();

process.on('message', (m: ToGeneratorChild) => {
  chain = chain.then(async () => {
    if (m.t === 'open') {
      try {
        await initBackend();
        g = await openGenerator(m.ref, m.options);
        send({ t: 'ready', digest: g.digest, manifest: g.manifest });
      } catch (e) {
        send({ t: 'failed', error: serializeError(e) });
        process.exit(1);
      }
    } else if (m.t === 'generate') {
      try {
        if (!g) throw new Error('generator process: generate before open');
        send({ t: 'done', id: m.id, record: await generateAdapters(g, m.request, m.outDir) });
      } catch (e) {
        send({ t: 'done', id: m.id, error: serializeError(e) });
      }
    }
  });
});
process.on('disconnect', () => process.exit(0));
