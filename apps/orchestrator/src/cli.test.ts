// The dnd command's surface: every command exists with help, and arguments are checked before any work.
import * as path from 'path';
import type { Command } from 'commander';
import { initBackend } from '@dnd/core';
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
    expect(cli.commands.map((c) => c.name()).sort()).toEqual(['backend', 'cancel', 'config', 'evaluate', 'export-generator', 'generate', 'model', 'presets', 'resume', 'run', 'runs', 'schedule', 'serve', 'status', 'store', 'worker']);
    let help = '';
    cli.configureOutput({ writeOut: (t) => { help += t; } }).exitOverride();
    expect(() => cli.parse(['node', 'dnd', '--help'])).toThrow();
    expect(help).toContain('TEMPORAL_ADDRESS');
    const run = cli.commands.find((c) => c.name() === 'run')!;
    expect(run.helpInformation()).toMatch(/<preset\|config\.json>.*quickstart/s);
    expect(run.helpInformation()).toContain('--skip-bad');
    expect(run.helpInformation()).toMatch(/--set <name=path>.*repeatable/s);
    expect(run.helpInformation()).toContain('--held-out <names>');
    for (const name of ['run', 'resume', 'status', 'presets', 'backend', 'runs']) expect(cli.commands.find((c) => c.name() === name)!.helpInformation()).toContain('--json');
    expect(cli.commands.find((c) => c.name() === 'config')!.commands.map((c) => c.name())).toEqual(['schema', 'show']);
    const schedule = cli.commands.find((c) => c.name() === 'schedule')!;
    expect(schedule.commands.map((c) => c.name())).toEqual(['nightly']);
    const helpOf = (name: string) => cli.commands.find((c) => c.name() === name)!.helpInformation();
    expect(helpOf('generate')).toMatch(/--prompts <file\|->.*\.txt \(one per line\), \.jsonl or \.json.*--samples <K>.*--json/s);
    expect(helpOf('serve')).toMatch(/POST \/v1\/loras.*--max-prompts <n>.*--queue <n>.*429/s);
    expect(helpOf('evaluate')).toMatch(/--adapter <name=dir>.*repeatable.*--set <name=path>.*--limit <n>/s);
    expect(helpOf('export-generator')).toContain('<run|alias>');
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

  it('model check loads an HF directory and prints parameters, the greedy answer and the NLL; a non-model dir is refused', async () => {
    await initBackend();
    const dir = path.resolve(__dirname, '..', '..', '..', 'packages', 'lm', 'test', 'fixtures', 'llama');
    let text = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { text += String(s); return true; });
    try {
      await testable(buildCli()).parseAsync(['node', 'dnd', 'model', 'check', dir, '--max-new-tokens', '4', '--json']);
    } finally {
      spy.mockRestore();
    }
    const r = JSON.parse(text);
    expect(r).toMatchObject({ dir, architecture: expect.stringMatching(/llama/i), parameters: expect.any(Number), answer: expect.any(String) });
    expect(r.parameters).toBeGreaterThan(10_000);
    expect(Number.isFinite(r.meanNll) && r.meanNll > 0).toBe(true);
    await expect(testable(buildCli()).parseAsync(['node', 'dnd', 'model', 'check', __dirname])).rejects.toThrow(/not a model directory \(no config\.json\)/);
  });
});
