#!/usr/bin/env node
// The `dnd` command: parses arguments and dispatches to the orchestrator's client, worker and checks.
// Not where work happens: every command calls a package step or a Temporal client function.
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { CORE_VERSION, initBackend, LocalArtifactStore } from '@dnd/core';
import { modelCheck } from '@dnd/lm';
import { collectProgress, createNightlySchedule, describeStatus, followRun, formatOverall, formatProgress, RunEta, runPlan, startLeaveOneOut, startPipeline } from './client';
import { addSets, DEFAULT_RUN_CONFIG, loadRunConfig, PRESETS_DIR } from './config';
import { loadRun, openSession, runFiles, saveRun, type SavedRun, type Session } from './session';
import { createStepFunctions } from './steps';
import type { PipelineResult } from './types';
import { createDndWorker, DEFAULT_ACTIVITY_SLOTS } from './worker';
import { registerExportGenerator } from './commands/export-generator';
import { registerGenerate } from './commands/generate';
import { registerEvaluate } from './commands/evaluate';
import { registerServe } from './commands/serve';

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const note = (s: string): void => { process.stderr.write(`[dnd] ${s}\n`); };

function installLogger(verbose: boolean): void {
  try {
    Runtime.install({ logger: new DefaultLogger(verbose ? 'INFO' : 'WARN') });
  } catch { /* installed already */ }
}

function presetNames(): string[] {
  return fs.existsSync(PRESETS_DIR) ? fs.readdirSync(PRESETS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : [];
}

function runDirOf(runsDir: string | undefined, runId: string): string {
  return path.join(path.resolve(runsDir ?? DEFAULT_RUN_CONFIG.runsDir), runId);
}

async function startInProcessWorker(session: Session, run: SavedRun): Promise<{ worker: Worker; done: Promise<void> }> {
  const connection = await NativeConnection.connect({ address: session.address });
  const worker = await createDndWorker({
    connection, namespace: run.config.temporal.namespace, role: 'cpu', taskQueue: run.config.temporal.cpuQueue,
    store: new LocalArtifactStore(run.config.artifactsDir), steps: createStepFunctions(),
  });
  const done = worker.run().finally(() => connection.close());
  return { worker, done };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Runs (or re-attaches to) a run's workflow with an in-process worker, printing progress and the ending. */
async function drive(run: SavedRun, runDir: string, o: { worker: boolean; ui: boolean; keepServer: boolean; attach: boolean }): Promise<void> {
  const session = await openSession(runDir, { namespace: run.config.temporal.namespace, ui: o.ui, log: note });
  let w: { worker: Worker; done: Promise<void> } | null = null;
  const stop = async (): Promise<void> => {
    if (w) { w.worker.shutdown(); await w.done.catch(() => undefined); w = null; }
    await session.close();
  };
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    // Calls in flight (progress polls) fail once the connection closes: expected now, not a crash.
    process.on('uncaughtException', () => undefined);
    note(`interrupted: the run stays in ${session.embedded ? runFiles(runDir).db : session.address}; continue it with \`dnd resume ${run.runId}\``);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (o.worker) w = await startInProcessWorker(session, run);
    const ui = session.uiUrl ? `${session.uiUrl}/namespaces/${run.config.temporal.namespace}/workflows/${encodeURIComponent(run.runId)}` : null;
    let handle = session.client.workflow.getHandle(run.runId);
    let status: string | null = null;
    try { status = (await handle.describe()).status.name; } catch { /* not started */ }
    if (!o.attach || status === null || (status !== 'RUNNING' && status !== 'COMPLETED')) {
      const input = { runId: run.runId, preset: run.preset, config: run.config, runDir, address: session.address };
      handle = run.workflow === 'leaveOneOut' ? await startLeaveOneOut(session.client, input) : await startPipeline(session.client, input);
      note(`started ${run.workflow} ${run.runId}${status ? ` (previous execution: ${status})` : ''}`);
    } else {
      note(`attached to ${run.runId} (${status})`);
    }
    if (ui) note(`Temporal UI: ${ui}`);
    const plan = runPlan(run.workflow, run.runId, run.config);
    const result = await followRun(session.client, handle, (text) => out(`--- ${new Date().toISOString().slice(11, 19)}\n${text}`), 1000, plan);
    const store = new LocalArtifactStore(run.config.artifactsDir);
    const results: PipelineResult[] = Array.isArray(result) ? result : [result];
    const reports: string[] = [];
    for (const r of results) {
      const dir = await store.resolve(r.report.ref);
      const md = path.join(dir, 'report.md');
      if (fs.existsSync(md)) out(`\n${fs.readFileSync(md, 'utf8').trim()}\n`);
      out(`manifest: ${r.manifestPath}`);
      if (fs.existsSync(path.join(dir, 'report.html'))) out(`report (html): ${path.join(dir, 'report.html')}`);
      reports.push(fs.existsSync(md) ? md : dir);
    }
    if (ui) out(`Temporal UI: ${ui}${session.embedded && !o.keepServer ? ' (until this command exits; `dnd status` restarts it on the same history)' : ''}`);
    // The last line(s): the report path, one per pipeline.
    for (const r of reports) out(`report: ${r}`);
    if (o.keepServer && session.embedded) {
      note('keeping the dev server and UI up; Ctrl-C to stop');
      await new Promise(() => undefined);
    }
  } catch (e) {
    // Interrupted: the signal handler stops what we started and exits 130; closing the connection
    // under the pending result() is what threw here, not the run.
    if (interrupted) await new Promise(() => undefined);
    if (e instanceof WorkflowFailedError && e.cause instanceof CancelledFailure) throw new Error(`run ${run.runId} was cancelled`);
    if (e instanceof WorkflowFailedError) throw new Error(`run ${run.runId} failed: ${e.cause?.message ?? e.message}${e.cause?.cause ? ` (cause: ${(e.cause.cause as Error).message})` : ''}`);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stop();
  }
}

/** Opens a Temporal session on a saved run (its live server, a restarted one, or TEMPORAL_ADDRESS), runs `fn`, closes it. */
async function withRunSession(runsDir: string | undefined, runId: string, fn: (session: Awaited<ReturnType<typeof openSession>>, runDir: string) => Promise<void>): Promise<void> {
  const runDir = runDirOf(runsDir, runId);
  const run = loadRun(runDir);
  const session = await openSession(runDir, { namespace: run.config.temporal.namespace, ui: false, log: note });
  try {
    await fn(session, runDir);
  } finally {
    await session.close();
  }
}

export function buildCli(): Command {
  const program = new Command('dnd')
    .description('Drag-and-Drop LLMs: unlabeled task prompts in, LoRA weights out.')
    .addHelpText('after', '\nRuns are Temporal workflows. Without TEMPORAL_ADDRESS a local dev server is started with its history in\n'
      + 'runs/<run-id>/temporal.db (Ctrl-C, then `dnd resume <run-id>`); with TEMPORAL_ADDRESS (host:port) that cluster is used.\n'
      + 'Start with: dnd run quickstart')
    .version(CORE_VERSION)
    .option('-v, --verbose', 'log worker and workflow details')
    .hook('preAction', (cmd) => installLogger(Boolean(cmd.opts()['verbose'])));

  program
    .command('backend')
    .description('choose the tensor backend as a run would (DND_BACKEND overrides) and print it')
    .action(async () => {
      const info = await initBackend();
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    });

  program
    .command('run')
    .description('run the pipeline on a preset or a JSON file of overrides, showing progress; prints the report path at the end')
    .argument('<preset|config.json>', `a preset (${presetNames().join(', ')}) or a JSON file of overrides onto the defaults`)
    .option('--run-id <id>', 'workflow id and run directory name (default: <preset>-<timestamp>)')
    .option('--runs-dir <dir>', 'parent of run directories (default: the config\'s runsDir)')
    .option('--leave-one-out', 'run the pipeline once per held-out set over one shared zoo (one generator per fold, trained on the other sets)')
    .option('--set <name=path>', 'add a task set in the shipped sets\' format from a folder (train.* / test.*) or one file; repeatable. It joins the zoo, is a training set, and a held-out set under --leave-one-out or --held-out', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--held-out <names>', 'comma-separated sets to hold out (replaces the config\'s heldOut), e.g. --held-out winogrande')
    .option('--skip-bad', 'skip malformed records in the task sets (counted in each zoo manifest) instead of failing on the first')
    .option('--no-worker', 'do not run an in-process worker (use `dnd worker` processes)')
    .option('--no-ui', 'start the dev server without its Web UI')
    .option('--keep-server', 'keep the embedded dev server and UI up after the run (Ctrl-C stops)')
    .addHelpText('after', '\nExamples:\n  dnd run quickstart\n  dnd run commonsense-smollm2 --leave-one-out\n  dnd run commonsense-smollm2 --set winogrande=/data/winogrande --held-out winogrande\n'
      + '  dnd run my-overrides.json --run-id exp-3\n  TEMPORAL_ADDRESS=temporal:7233 dnd run quickstart --no-worker')
    .action(async (what: string, o: { runId?: string; runsDir?: string; leaveOneOut?: boolean; set: string[]; heldOut?: string; skipBad?: boolean; worker: boolean; ui: boolean; keepServer?: boolean }) => {
      const loaded = loadRunConfig(what, createStepFunctions());
      if (o.set.length || o.heldOut !== undefined) {
        const heldOut = o.heldOut === undefined ? undefined : o.heldOut.split(',').map((h) => h.trim()).filter(Boolean);
        loaded.config = addSets(loaded.config, o.set, heldOut);
      }
      if (o.skipBad) loaded.config.steps.collectSet['skipBad'] = true;
      const runId = o.runId ?? `${loaded.preset ?? path.basename(what, '.json')}-${stamp()}`;
      const runDir = path.join(o.runsDir ? path.resolve(o.runsDir) : loaded.config.runsDir, runId);
      const run: SavedRun = { runId, preset: loaded.preset, config: loaded.config, workflow: o.leaveOneOut ? 'leaveOneOut' : 'dndPipeline' };
      fs.mkdirSync(runDir, { recursive: true });
      saveRun(runDir, run);
      note(`run ${runId}: ${loaded.source ?? 'defaults'} -> ${runDir}`);
      await drive(run, runDir, { worker: o.worker, ui: o.ui, keepServer: Boolean(o.keepServer), attach: false });
    });

  program
    .command('resume')
    .description('continue a run: restarts the dev server on its history (or uses TEMPORAL_ADDRESS) and a worker; a run that ended unsuccessfully starts again, reusing every finished artifact')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .option('--no-worker', 'do not run an in-process worker')
    .option('--no-ui', 'start the dev server without its Web UI')
    .action(async (runId: string, o: { runsDir?: string; worker: boolean; ui: boolean }) => {
      const runDir = runDirOf(o.runsDir, runId);
      await drive(loadRun(runDir), runDir, { worker: o.worker, ui: o.ui, keepServer: false, attach: true });
    });

  program
    .command('status')
    .description('show a run\'s workflow tree and the progress of its activities')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .action((runId: string, o: { runsDir?: string }) => withRunSession(o.runsDir, runId, async (session, runDir) => {
      const lines = await collectProgress(session.client, runId);
      if (lines.length) {
        const run = loadRun(runDir);
        out(formatOverall(await new RunEta(runPlan(run.workflow, runId, run.config)).update(describeStatus(session.client), lines)));
      }
      out(lines.length ? formatProgress(lines) : `${runId}: not found on ${session.address}`);
      if (fs.existsSync(runFiles(runDir).manifest)) out(`manifest: ${runFiles(runDir).manifest}`);
    }));

  program
    .command('cancel')
    .description('cancel a run: its child workflows and running activities are cancelled too')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .action((runId: string, o: { runsDir?: string }) => withRunSession(o.runsDir, runId, async (session) => {
      await session.client.workflow.getHandle(runId).cancel();
      out(`cancellation requested for ${runId}${session.embedded ? ' (the run\'s worker cancels its activities when it next runs: `dnd resume`)' : ''}`);
    }));

  program
    .command('worker')
    .description('run a worker: --queue cpu polls workflows and CPU activities; --queue gpu polls GPU activities (collection, training go there while it is up)')
    .addOption(new Option('--queue <kind>', 'which queue').choices(['cpu', 'gpu']).default('cpu'))
    .option('--config <preset|config.json>', 'config whose queue names, namespace and artifact dir to use')
    .option('--artifacts <dir>', 'artifact store directory (default: the config\'s artifactsDir)')
    .option('--concurrency <n>', 'concurrent activities (model steps still run one at a time per process)', (v) => Number.parseInt(v, 10), DEFAULT_ACTIVITY_SLOTS)
    .addHelpText('after', '\nNeeds TEMPORAL_ADDRESS (host:port). Example:\n  TEMPORAL_ADDRESS=temporal:7233 dnd worker --queue gpu --artifacts /shared/artifacts')
    .action(async (o: { queue: 'cpu' | 'gpu'; config?: string; artifacts?: string; concurrency: number }) => {
      const address = process.env['TEMPORAL_ADDRESS'];
      if (!address) throw new Error('dnd worker needs TEMPORAL_ADDRESS (host:port of the Temporal frontend)');
      const steps = createStepFunctions();
      const { config } = loadRunConfig(o.config ?? null, steps);
      const taskQueue = o.queue === 'gpu' ? config.temporal.gpuQueue : config.temporal.cpuQueue;
      const connection = await NativeConnection.connect({ address });
      const worker = await createDndWorker({
        connection, namespace: config.temporal.namespace, role: o.queue, taskQueue, steps,
        store: new LocalArtifactStore(o.artifacts ? path.resolve(o.artifacts) : config.artifactsDir), maxConcurrentActivityTaskExecutions: o.concurrency,
      });
      note(`worker polling ${taskQueue} on ${address} (Ctrl-C stops)`);
      await worker.run();
      await connection.close();
    });

  const schedule = program.command('schedule').description('Temporal Schedules');
  schedule
    .command('nightly')
    .description('create (or replace) the Schedule that evaluates the latest generator on the config\'s sets')
    .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *"')
    .option('--config <preset|config.json>', 'config of the evaluation (sets, queues)')
    .option('--id <scheduleId>', 'schedule id', 'dnd-nightly')
    .option('--timezone <tz>', 'IANA time zone of the cron expression', 'UTC')
    .addHelpText('after', '\nNeeds TEMPORAL_ADDRESS: a Schedule lives on a cluster that outlives this command.')
    .action(async (o: { cron: string; config?: string; id: string; timezone: string }) => {
      if (!process.env['TEMPORAL_ADDRESS']) throw new Error('dnd schedule needs TEMPORAL_ADDRESS (a Schedule on a dev server that stops with this command would never fire)');
      const { config } = loadRunConfig(o.config ?? null, createStepFunctions());
      const session = await openSession(process.cwd(), { namespace: config.temporal.namespace });
      try {
        const id = await createNightlySchedule(session.client, { scheduleId: o.id, cron: o.cron, config, timezone: o.timezone });
        out(`schedule ${id}: nightlyEvaluation at "${o.cron}" (${o.timezone}) on ${config.temporal.cpuQueue}`);
      } finally {
        await session.close();
      }
    });

  const model = program.command('model').description('base language models');
  model
    .command('check')
    .description('load an HF model directory (config.json, model.safetensors, tokenizer.json) and print its parameter count, a greedy answer to a fixed question and the mean NLL of a fixed text')
    .argument('<dir>', 'the model directory, e.g. ~/.cache/dnd/models/smollm2-135m-instruct (bash infra/assets-smollm2.sh builds it)')
    .option('--max-new-tokens <n>', 'tokens of the greedy answer', (v) => Number.parseInt(v, 10), 24)
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { maxNewTokens: number; json?: boolean }) => {
      const abs = path.resolve(dir);
      if (!fs.existsSync(path.join(abs, 'config.json'))) throw new Error(`${abs}: not a model directory (no config.json)`);
      const backend = await initBackend();
      const r = await modelCheck(abs, { maxNewTokens: o.maxNewTokens });
      if (o.json) return out(JSON.stringify({ ...r, backend: backend.name }, null, 2));
      out(`model: ${r.dir} (${r.architecture}, ${r.parameters.toLocaleString('en-US')} parameters, backend ${backend.name})`);
      out(`prompt: ${JSON.stringify(r.prompt)}`);
      out(`answer: ${JSON.stringify(r.answer)}`);
      out(`mean NLL of the fixed text: ${r.meanNll.toFixed(4)} over ${r.nllTokens} tokens (perplexity ${Math.exp(r.meanNll).toFixed(2)})`);
      out(`seconds: ${r.seconds.toFixed(1)}`);
    });

  registerExportGenerator(program, out);
  registerGenerate(program, out, note);
  registerEvaluate(program, out, note);
  registerServe(program, out, note);

  program
    .command('presets')
    .description('list the presets and print one merged onto the defaults')
    .argument('[name]')
    .action((name?: string) => {
      if (!name) return out(presetNames().join('\n'));
      out(JSON.stringify(loadRunConfig(name, createStepFunctions()).config, null, 2));
    });

  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`dnd: ${e.message}\n`);
    process.exit(1);
  });
}
