#!/usr/bin/env node
// The `dnd` command: parses arguments and dispatches to the orchestrator's client, worker and checks.
// Not where work happens: every command calls a package step or a Temporal client function.
import { Command } from 'commander';
import { CORE_VERSION, initBackend } from '@dnd/core';

export function buildCli(): Command {
  const program = new Command('dnd')
    .description('Drag-and-Drop LLMs: unlabeled task prompts in, LoRA weights out.')
    .version(CORE_VERSION);

  program
    .command('backend')
    .description('choose the tensor backend as a run would (DND_BACKEND overrides) and print it')
    .action(async () => {
      const info = await initBackend();
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    });

  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`dnd: ${e.message}\n`);
    process.exit(1);
  });
}
