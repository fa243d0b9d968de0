#!/usr/bin/env node
// The `dnd` command: parses arguments and dispatches to the orchestrator's client, worker and checks.
// Not where work happens: every command calls a package step or a Temporal client function.
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { CORE_VERSION, initBackend, openArtifactStore, resolveInside, validateName } from '@dnd/core';
import { modelCheck } from '@dnd/lm';
import { collectProgress, createNightlySchedule, describeStatus, followRun, formatOverall, formatProgress, RunEta, runPlan, startLeaveOneOut, startPipeline } from './client';
import { runWorkerCommand, type WorkerCommandOptions } from './commands/worker-command';
import { addSets, DEFAULT_RUN_CONFIG, loadRunConfig, PRESETS_DIR } from './config';
import { addConnectionFlags, connectOptions, resolveConnection, type ConnectionFlags, type TemporalConnectionConfig } from './connection-options';
import { loadRun, openSession, runFiles, saveRun, type SavedRun, type Session } from './session';
import { inChildProcesses } from './activities/step-process';
import { createStepFunctions } from './step-selection';
import type { PipelineResult } from './types';
import { createDndWorker, DEFAULT_ACTIVITY_SLOTS } from './worker';
import { registerStoreCommands } from './commands/store';
import { rootCauseMessage } from './failure-message';
import { preflight } from './preflight';
import { acquireRunLock } from './run-lock';

import { registerConfigCommands } from './commands/config';
import { registerRunsCommand } from './commands/runs';
import { assertRunnable } from './config-preflight';
import { explainConnect } from './connection-error';
import { lineProgressView, progressViewFor } from './progress-view';
import { placeManifest, placeReports, readRunStatus, writeRunStatus, type RunStatus } from './run-record';
import { installRunLogger, shutdownRunLogger, type RunLogSink } from './run-log';
import { registerExportGenerator } from './commands/export-generator';
import { registerGenerate } from './commands/generate';
import { registerEvaluate } from './commands/evaluate';
import { registerServe } from './commands/serve';

/** A number of seconds >= 0 from a flag. */
function parseSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds >= 0');
  return n;
}

const out = (s: string): void => { process.stdout.write(s + '\n'); };
// While a live progress block is on screen, notes go above it (progress-view.ts) instead of tearing it.
let noteTo: ((s: string) => void) | null = null;
const note = (s: string): void => { if (noteTo) noteTo(`[dnd] ${s}`); else process.stderr.write(`[dnd] ${s}\n`); };
let runLog: RunLogSink | null = null;

function presetNames(): string[] {
  return fs.existsSync(PRESETS_DIR) ? fs.readdirSync(PRESETS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : [];
}

function runDirOf(runsDir: string | undefined, runId: string): string {
  return resolveInside(path.resolve(runsDir ?? DEFAULT_RUN_CONFIG.runsDir), validateName('run id', runId));
}

async function startInProcessWorker(session: Session, run: SavedRun, conn: TemporalConnectionConfig): Promise<{ worker: Worker; done: Promise<void> }> {
  const cluster = !session.embedded && Boolean(conn.address);
  const source = session.embedded ? 'the embedded dev server' : process.env['TEMPORAL_ADDRESS'] === session.address ? 'TEMPORAL_ADDRESS' : '--address';
  const connection = await explainConnect(session.address, source, () => NativeConnection.connect(connectOptions(cluster ? conn : { tls: undefined, apiKey: undefined }, session.address)));
  const worker = await createDndWorker({
    connection, namespace: run.config.temporal.namespace, role: 'cpu', taskQueue: run.config.temporal.cpuQueue,
    store: await openArtifactStore(run.config.artifactsDir), steps: inChildProcesses(createStepFunctions()),
  });
  const done = worker.run().finally(() => connection.close());
  return { worker, done };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Ctrl-C stops everything this process started within this long, whatever a step is doing (the issue asks for 5 s). */
const HARD_STOP_MS = 3500;
/** Commands that run a worker (a native connection): the Temporal runtime and its log forwarding are installed for these only. */
const TEMPORAL_COMMANDS = new Set(['run', 'resume', 'worker']);

/** Runs (or re-attaches to) a run's workflow with an in-process worker, printing progress and the ending. */
async function drive(run: SavedRun, runDir: string, o: { worker: boolean; ui: boolean; keepServer: boolean; attach: boolean; json?: boolean; conn: TemporalConnectionConfig }): Promise<void> {
  const t0 = Date.now();
  const logFile = path.join(runDir, 'dnd.log');
  runLog?.toFile(logFile);
  const record: RunStatus = { runId: run.runId, status: 'running', preset: run.preset, workflow: run.workflow, startedAt: readRunStatus(runDir)?.startedAt ?? new Date().toISOString(), updatedAt: new Date().toISOString(), pid: process.pid, reports: [] };
  const setStatus = (status: RunStatus['status'], extra: Partial<RunStatus> = {}): void => {
    Object.assign(record, { status, updatedAt: new Date().toISOString(), ...extra });
    if (status !== 'running') delete record.pid;
    writeRunStatus(runDir, record);
  };
  setStatus('running');
  // With --json, stdout carries the summary alone: progress goes to stderr, one line per step change.
  const view = o.json ? lineProgressView((l) => process.stderr.write(l + '\n')) : progressViewFor(process.stdout, process.stderr);
  noteTo = (s) => view.note(s);
  if (runLog?.file) note(`Temporal and worker warnings: ${path.relative(process.cwd(), logFile) || logFile} (--verbose shows them here)`);
  const session = await openSession(runDir, { namespace: run.config.temporal.namespace, ui: o.ui, log: note, connection: o.conn });
  let w: { worker: Worker; done: Promise<void> } | null = null;
  const stop = async (): Promise<void> => {
    if (w) { w.worker.shutdown(); await w.done.catch(() => undefined); w = null; }
    await session.close();
  };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130); // a second Ctrl-C: at once
    interrupted = true;
    // Calls in flight (progress polls) fail once the connection closes: expected now, not a crash.
    process.on('uncaughtException', () => undefined);
    view.done();
    noteTo = null;
    setStatus('interrupted');
    note(`interrupted: the run stays in ${session.embedded ? runFiles(runDir).db : session.address}; continue it with \`dnd resume ${run.runId}\``);
    // A step busy in a long computation may not see the cancellation for a while: after HARD_STOP_MS the dev
    // server is killed (its SQLite history is safe: Temporal writes it transactionally) and the process exits.
    setTimeout(() => {
      if (session.serverPid !== undefined) { try { process.kill(session.serverPid, 'SIGKILL'); } catch { /* gone */ } }
      fs.rmSync(runFiles(runDir).server, { force: true });
      process.exit(130);
    }, HARD_STOP_MS).unref();
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (o.worker) w = await startInProcessWorker(session, run, o.conn);
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
    const result = await followRun(session.client, handle, (snap) => { if (!interrupted) view.update(snap); }, 1000, plan);
    view.done();
    noteTo = null;
    const store = await openArtifactStore(run.config.artifactsDir);
    const results: PipelineResult[] = Array.isArray(result) ? result : [result];
    const reports: Array<{ runId: string; files: string[]; md: string | null; html: string | null; results: string | null; manifest: string }> = [];
    for (const r of results) {
      const dir = await store.resolve(r.report.ref);
      // Beside the run: runs/<id>/report.* (one pipeline) or runs/<id>/<fold>/report.* (leave-one-out).
      const dest = results.length === 1 ? runDir : path.join(runDir, r.runId.slice(r.runId.lastIndexOf('/') + 1));
      const files = placeReports(dir, dest);
      const manifest = await placeManifest(store, r, dest);
      const find = (f: string) => files.find((x) => path.basename(x) === f) ?? null;
      reports.push({ runId: r.runId, files, md: find('report.md'), html: find('report.html'), results: find('results.json'), manifest });
      if (!o.json) {
        const md = find('report.md');
        if (md) out(`\n${fs.readFileSync(md, 'utf8').trim()}\n`);
        out(`manifest: ${manifest}`);
        if (find('report.html')) out(`report (html): ${find('report.html')}`);
      }
    }
    setStatus('completed', { reports: reports.map((r) => r.md ?? r.html ?? r.results).filter((x): x is string => x !== null) });
    if (o.json) {
      out(JSON.stringify({
        runId: run.runId, status: 'completed', preset: run.preset, workflow: run.workflow, runDir, wallSec: Math.round((Date.now() - t0) / 1000),
        manifests: reports.map((r) => r.manifest), reports, log: runLog?.file ?? null, temporalUi: ui,
      }, null, 2));
    } else {
      if (ui) out(`Temporal UI: ${ui}${session.embedded && !o.keepServer ? ' (until this command exits; `dnd status` restarts it on the same history)' : ''}`);
      // The last line(s): the report path, one per pipeline.
      for (const r of reports) out(`report: ${r.md ?? r.html ?? r.results ?? '(no report file)'}`);
    }
    if (o.keepServer && session.embedded) {
      note('keeping the dev server and UI up; Ctrl-C to stop');
      await new Promise(() => undefined);
    }
  } catch (e) {
    // Interrupted: the signal handler stops what we started and exits 130; closing the connection
    // under the pending result() is what threw here, not the run.
    if (interrupted) await new Promise(() => undefined);
    view.done();
    noteTo = null;
    if (e instanceof WorkflowFailedError && e.cause instanceof CancelledFailure) {
      setStatus('cancelled');
      if (o.json) out(JSON.stringify({ runId: run.runId, status: 'cancelled', preset: run.preset, workflow: run.workflow, runDir, wallSec: Math.round((Date.now() - t0) / 1000) }, null, 2));
      throw new Error(`run ${run.runId} was cancelled`);
    }
    const message = e instanceof WorkflowFailedError ? `run ${run.runId} failed: ${rootCauseMessage(e)}` : (e as Error).message;
    setStatus('failed', { error: message });
    if (o.json) out(JSON.stringify({ runId: run.runId, status: 'failed', preset: run.preset, workflow: run.workflow, runDir, wallSec: Math.round((Date.now() - t0) / 1000), error: message, log: runLog?.file ?? null }, null, 2));
    if (e instanceof WorkflowFailedError) throw new Error(message);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stop();
  }
}

/** Opens a Temporal session on a saved run (its live server, a restarted one, or TEMPORAL_ADDRESS), runs `fn`, closes it. */
async function withRunSession(runsDir: string | undefined, runId: string, flags: ConnectionFlags, fn: (session: Awaited<ReturnType<typeof openSession>>, runDir: string) => Promise<void>): Promise<void> {
  const runDir = runDirOf(runsDir, runId);
  const run = loadRun(runDir);
  const session = await openSession(runDir, { namespace: run.config.temporal.namespace, ui: false, log: note, connection: resolveConnection(flags) });
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
    .hook('preAction', (cmd, action) => {
      // Only commands that run a worker install the runtime: an idle runtime keeps the process alive (shut
      // down in postAction), so `dnd runs` or `dnd status` never need it.
      if (TEMPORAL_COMMANDS.has(action.name())) runLog = installRunLogger(Boolean(cmd.opts()['verbose']), Boolean(action.opts()['logJson']));
    })
    .hook('postAction', () => shutdownRunLogger());

  program
    .command('backend')
    .description('choose the tensor backend as a run would (DND_BACKEND overrides) and print it')
    .option('--json', 'print the full choice (skipped candidates, patched kernels, versions) as JSON')
    .action(async (o: { json?: boolean }) => {
      const info = await initBackend();
      if (o.json) return out(JSON.stringify(info, null, 2));
      out(`backend: ${info.name} (tf.getBackend() ${info.tfBackend}${info.forced ? ', forced by DND_BACKEND' : ''}; tfjs-core ${info.versions.tfjsCore}${info.versions.libtensorflow ? `, TensorFlow ${info.versions.libtensorflow}` : ''})`);
      for (const k of info.skipped) out(`skipped ${k.name}: ${k.reason}`);
    });

  addConnectionFlags(program
    .command('run'))
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
    .option('--json', 'print a JSON summary at the end on stdout (run id, status, report/results paths, wall time); progress goes to stderr')
    .addHelpText('after', '\nExamples:\n  dnd run quickstart\n  dnd run commonsense-smollm2 --leave-one-out\n  dnd run commonsense-smollm2 --set winogrande=/data/winogrande --held-out winogrande\n'
      + '  dnd run my-overrides.json --run-id exp-3\n  TEMPORAL_ADDRESS=temporal:7233 dnd run quickstart --no-worker')
    .action(async (what: string, o: ConnectionFlags & { runId?: string; runsDir?: string; leaveOneOut?: boolean; set: string[]; heldOut?: string; skipBad?: boolean; worker: boolean; ui: boolean; keepServer?: boolean; json?: boolean }) => {
      const conn = resolveConnection(o);
      const loaded = loadRunConfig(what, createStepFunctions());
      if (conn.namespace) loaded.config.temporal.namespace = conn.namespace;
      if (o.set.length || o.heldOut !== undefined) {
        const heldOut = o.heldOut === undefined ? undefined : o.heldOut.split(',').map((h) => h.trim()).filter(Boolean);
        loaded.config = addSets(loaded.config, o.set, heldOut);
      }
      if (o.skipBad) loaded.config.steps.collectSet['skipBad'] = true;
      const runId = validateName('run id', o.runId ?? `${loaded.preset ?? path.basename(what, '.json')}-${stamp()}`);
      const runDir = resolveInside(o.runsDir ? path.resolve(o.runsDir) : loaded.config.runsDir, runId);
      const run: SavedRun = { runId, preset: loaded.preset, config: loaded.config, workflow: o.leaveOneOut ? 'leaveOneOut' : 'dndPipeline' };
      // Before any server, step or file: bad sets and configs fail here, once, in seconds.
      await preflight(run.config, createStepFunctions(), { workflow: run.workflow, scoring: process.env['DND_STEPS'] !== 'demo' });
      await assertRunnable(run.config, loaded.source); // model files, token width
      const lock = acquireRunLock(runDir, runId); // a live run with this id: nothing below happens
      try {
        saveRun(runDir, run);
        note(`run ${runId}: ${loaded.source ?? 'defaults'} -> ${runDir}`);
        await drive(run, runDir, { worker: o.worker, ui: o.ui, keepServer: Boolean(o.keepServer), attach: false, json: o.json, conn });
      } finally {
        lock.release();
      }
    });

  addConnectionFlags(program
    .command('resume'))
    .description('continue a run: restarts the dev server on its history (or uses TEMPORAL_ADDRESS) and a worker; a run that ended unsuccessfully starts again, reusing every finished artifact')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .option('--no-worker', 'do not run an in-process worker')
    .option('--no-ui', 'start the dev server without its Web UI')
    .option('--json', 'print a JSON summary at the end on stdout, as `dnd run --json`')
    .action(async (runId: string, o: ConnectionFlags & { runsDir?: string; worker: boolean; ui: boolean; json?: boolean }) => {
      const runDir = runDirOf(o.runsDir, runId);
      const run = loadRun(runDir);
      const lock = acquireRunLock(runDir, runId);
      try {
        await drive(run, runDir, { worker: o.worker, ui: o.ui, keepServer: false, attach: true, json: o.json, conn: resolveConnection(o) });
      } finally {
        lock.release();
      }
    });

  addConnectionFlags(program
    .command('status'))
    .description('show a run\'s workflow tree and the progress of its activities')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .option('--json', 'print {runId, status, overall, workflows, manifest, reports} as JSON')
    .action((runId: string, o: ConnectionFlags & { runsDir?: string; json?: boolean }) => withRunSession(o.runsDir, runId, o, async (session, runDir) => {
      const lines = await collectProgress(session.client, runId);
      const run = loadRun(runDir);
      const overall = lines.length ? await new RunEta(runPlan(run.workflow, runId, run.config)).update(describeStatus(session.client), lines) : null;
      if (o.json) {
        return out(JSON.stringify({
          runId, status: lines[0]?.status ?? 'NOT_FOUND', address: session.address, overall, workflows: lines,
          manifest: fs.existsSync(runFiles(runDir).manifest) ? runFiles(runDir).manifest : null, reports: readRunStatus(runDir)?.reports ?? [],
        }, null, 2));
      }
      if (overall) out(formatOverall(overall));
      out(lines.length ? formatProgress(lines) : `${runId}: not found on ${session.address}`);
      if (fs.existsSync(runFiles(runDir).manifest)) out(`manifest: ${runFiles(runDir).manifest}`);
    }));

  addConnectionFlags(program
    .command('cancel'))
    .description('cancel a run: its child workflows and running activities are cancelled too')
    .argument('<run-id>')
    .option('--runs-dir <dir>', 'parent of run directories')
    .action((runId: string, o: ConnectionFlags & { runsDir?: string }) => withRunSession(o.runsDir, runId, o, async (session) => {
      await session.client.workflow.getHandle(runId).cancel();
      out(`cancellation requested for ${runId}${session.embedded ? ' (the run\'s worker cancels its activities when it next runs: `dnd resume`)' : ''}`);
    }));

  addConnectionFlags(program
    .command('worker'))
    .description('run a worker: --queue cpu polls workflows and CPU activities; --queue gpu polls GPU activities (collection, training go there while it is up)')
    .addOption(new Option('--queue <kind>', 'which queue').choices(['cpu', 'gpu']).default('cpu'))
    .option('--config <preset|config.json>', 'config whose queue names, namespace and artifact store to use')
    .option('--artifacts <dir|url>', 'artifact store: a directory, file:///dir or s3://bucket/prefix[?endpoint=URL] (default: DND_ARTIFACTS, else the config\'s artifactsDir)')
    .option('--concurrency <n>', 'concurrent activities (model steps still run one at a time per process)', (v) => Number.parseInt(v, 10), DEFAULT_ACTIVITY_SLOTS)
    .option('--health-file <file>', 'rewrite this JSON file every 10 s with the worker\'s state (polling, stopping...); removed on a clean stop')
    .option('--health-port <port>', 'serve the same JSON over HTTP: 200 while polling, 503 otherwise', (v) => Number.parseInt(v, 10))
    .option('--health-host <host>', 'address the health endpoint binds', '127.0.0.1')
    .option('--log-json', 'log JSON lines on stderr (SDK logs included)')
    .option('--work-sync-seconds <s>', 'with an S3 store: seconds between copies of a running step\'s work folder (zoo snapshots, decoder checkpoints, scored batches) to the store, so a retry on another host resumes from it; 0: at every progress report', parseSeconds, 30)
    .addHelpText('after', '\nNeeds a Temporal address (--address or TEMPORAL_ADDRESS). SIGTERM stops polling, lets running steps finish\n'
      + 'within the grace time and hands the rest back (outputs publish atomically). Examples:\n'
      + '  TEMPORAL_ADDRESS=temporal:7233 dnd worker --queue gpu --artifacts s3://dnd/prod --health-file /run/dnd/health.json\n'
      + '  dnd worker --address ns.acct.tmprl.cloud:7233 --namespace ns.acct --api-key-file /etc/dnd/temporal-api-key\n'
      + '  dnd worker --address temporal.internal:7233 --tls-ca ca.pem --tls-cert client.pem --tls-key client.key')
    .action((o: WorkerCommandOptions) => runWorkerCommand({ ...o, artifacts: o.artifacts ?? process.env['DND_ARTIFACTS'] }));

  const schedule = program.command('schedule').description('Temporal Schedules');
  addConnectionFlags(schedule
    .command('nightly'))
    .description('create (or replace) the Schedule that evaluates the latest generator on the config\'s sets')
    .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *"')
    .option('--config <preset|config.json>', 'config of the evaluation (sets, queues)')
    .option('--id <scheduleId>', 'schedule id', 'dnd-nightly')
    .option('--timezone <tz>', 'IANA time zone of the cron expression', 'UTC')
    .addHelpText('after', '\nNeeds --address or TEMPORAL_ADDRESS: a Schedule lives on a cluster that outlives this command.')
    .action(async (o: ConnectionFlags & { cron: string; config?: string; id: string; timezone: string }) => {
      const conn = resolveConnection(o);
      if (!conn.address) throw new Error('dnd schedule needs TEMPORAL_ADDRESS or --address (a Schedule on a dev server that stops with this command would never fire)');
      const { config } = loadRunConfig(o.config ?? null, createStepFunctions());
      if (conn.namespace) config.temporal.namespace = conn.namespace;
      const session = await openSession(process.cwd(), { namespace: config.temporal.namespace, connection: conn });
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

  registerStoreCommands(program, out);
  registerExportGenerator(program, out);
  registerGenerate(program, out, note);
  registerEvaluate(program, out, note);
  registerServe(program, out, note);

  program
    .command('presets')
    .description('list the presets (with what each is for) and print one merged onto the defaults')
    .argument('[name]')
    .option('--json', 'list as JSON: [{name, file, comment}]')
    .action((name?: string, o: { json?: boolean } = {}) => {
      if (name) return out(JSON.stringify(loadRunConfig(name, createStepFunctions()).config, null, 2));
      const presets = presetNames().map((n) => {
        const file = path.join(PRESETS_DIR, `${n}.json`);
        let comment: string | null = null;
        try { comment = (JSON.parse(fs.readFileSync(file, 'utf8')) as { $comment?: string }).$comment ?? null; } catch { /* unreadable: loadRunConfig names it when used */ }
        return { name: n, file, comment };
      });
      if (o.json) return out(JSON.stringify(presets, null, 2));
      out(presets.map((p) => p.name).join('\n'));
    });

  registerConfigCommands(program, out);
  registerRunsCommand(program, out);
  return program;
}

if (require.main === module) {
  buildCli().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`dnd: ${e.message}\n`);
    process.exit(1);
  });
}
