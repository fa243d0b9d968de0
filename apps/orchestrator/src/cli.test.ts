// The dnd command's surface: every command exists with help, and arguments are checked before any work.
import type { Command } from 'commander';
import { buildCli } from './cli';

// Throw instead of exiting, quietly, on every (sub)command.
const testable = (c: Command): Command => {
  c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  c.commands.forEach(testable);
  return c;
};

describe('dnd --help', () => {
  it('lists the commands and explains where Temporal comes from', () => {
    const cli = buildCli();
    expect(cli.commands.map((c) => c.name()).sort()).toEqual(['backend', 'cancel', 'presets', 'resume', 'run', 'schedule', 'status', 'worker']);
    let help = '';
    cli.configureOutput({ writeOut: (t) => { help += t; } }).exitOverride();
    expect(() => cli.parse(['node', 'dnd', '--help'])).toThrow();
    expect(help).toContain('TEMPORAL_ADDRESS');
    const run = cli.commands.find((c) => c.name() === 'run')!;
    expect(run.helpInformation()).toMatch(/<preset\|config\.json>.*quickstart/s);
    const schedule = cli.commands.find((c) => c.name() === 'schedule')!;
    expect(schedule.commands.map((c) => c.name())).toEqual(['nightly']);
  });

  it('worker and schedule refuse to start without TEMPORAL_ADDRESS, naming it', async () => {
    const saved = process.env['TEMPORAL_ADDRESS'];
    delete process.env['TEMPORAL_ADDRESS'];
    try {
      await expect(testable(buildCli()).parseAsync(['node', 'dnd', 'worker', '--queue', 'gpu'])).rejects.toThrow(/needs TEMPORAL_ADDRESS/);
      await expect(testable(buildCli()).parseAsync(['node', 'dnd', 'schedule', 'nightly', '--cron', '0 3 * * *'])).rejects.toThrow(/needs TEMPORAL_ADDRESS/);
      await expect(testable(buildCli()).parseAsync(['node', 'dnd', 'worker', '--queue', 'tpu'])).rejects.toThrow(/Allowed choices are cpu, gpu/);
    } finally {
      if (saved !== undefined) process.env['TEMPORAL_ADDRESS'] = saved;
    }
  });
});
