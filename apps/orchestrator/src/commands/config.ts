// `dnd config schema` (the run config's JSON Schema, for editors) and `dnd config show` (a preset or file
// fully resolved: every default filled, paths absolute, checked). Not the schema itself (config-schema.ts).
import type { Command } from 'commander';
import { runConfigJsonSchema } from '../config-schema';
import { loadRunConfig } from '../config';
import { createStepFunctions } from '../step-selection';

/**
 * Adds `config schema` and `config show <preset|config.json>` to `program`.
 * @example registerConfigCommands(program) // then: dnd config schema > dnd-config.schema.json
 */
export function registerConfigCommands(program: Command, out: (s: string) => void): void {
  const config = program.command('config').description('the run config: its JSON Schema, and a preset or file fully resolved');
  config
    .command('schema')
    .description('print the JSON Schema of a run config (draft 2020-12): every field, its type, range, default and meaning')
    .addHelpText('after', '\nFor editors: dnd config schema > dnd-config.schema.json, then "$schema": "./dnd-config.schema.json" in a config file.')
    .action(() => out(JSON.stringify(runConfigJsonSchema(), null, 2)));
  config
    .command('show')
    .description('print a preset or a JSON file of overrides merged onto the defaults, every field filled and checked')
    .argument('[preset|config.json]', 'a preset name or a JSON file (default: the defaults alone)')
    .action((what?: string) => out(JSON.stringify(loadRunConfig(what ?? null, createStepFunctions()).config, null, 2)));
}
