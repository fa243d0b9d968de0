// `dnd runs`: the runs under the runs directory with status, preset, start date and report path, from each
// run directory's status.json alone (no Temporal server is started). Not `dnd status` (one run, live).
import * as path from 'path';
import type { Command } from 'commander';
import { DEFAULT_RUN_CONFIG } from '../config';
import { formatRunList, listRuns } from '../run-record';

/**
 * Adds `runs [--runs-dir <dir>] [--json]` to `program`.
 * @example registerRunsCommand(program, (s) => process.stdout.write(s + '\n'))
 */
export function registerRunsCommand(program: Command, out: (s: string) => void): void {
  program
    .command('runs')
    .description('list runs (newest first) with status, preset, start date and report path; reads the run directories, starts nothing')
    .option('--runs-dir <dir>', 'parent of run directories', DEFAULT_RUN_CONFIG.runsDir)
    .option('--json', 'print the list as JSON: [{runId, status, preset, date, report, runDir}]')
    .addHelpText('after', '\nStatus is what the last `dnd run`/`dnd resume` recorded: running, completed, failed, cancelled, or interrupted\n'
      + '(Ctrl-C, or the dnd process is gone); `dnd status <run-id>` asks Temporal.')
    .action((o: { runsDir: string; json?: boolean }) => {
      const runs = listRuns(path.resolve(o.runsDir));
      out(o.json ? JSON.stringify(runs, null, 2) : formatRunList(runs));
    });
}
