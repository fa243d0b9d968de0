// Where the dnd process's Temporal logs go: Core (Rust) and SDK warnings are forwarded to one logger that
// writes plain lines to the run's log file once `dnd run` names it (stderr before that, and with --verbose),
// so they never land, in raw colour codes, between progress lines. Not the dev server's log (dev-server.ts).
import * as fs from 'fs';
import { stripVTControlCharacters } from 'util';
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry } from '@temporalio/worker';

/** The sink the runtime logger writes to. */
export class RunLogSink {
  private fd: number | null = null;
  /** The file now written to, or null (stderr). */
  file: string | null = null;
  /** `json`: JSON lines (`dnd worker --log-json`) instead of plain ones. */
  constructor(private readonly verbose: boolean, private readonly json = false) {}

  /** Sends what follows to `file` (appended), unless verbose (then everything stays on stderr). */
  toFile(file: string): void {
    if (this.verbose) return;
    this.close();
    this.fd = fs.openSync(file, 'a');
    this.file = file;
  }

  write(entry: LogEntry): void {
    const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
    // Core's messages may carry terminal colours: plain text in a file and on stderr.
    const line = this.json
      ? `${JSON.stringify({ at, level: entry.level.toLowerCase(), event: 'sdk', message: stripVTControlCharacters(entry.message), ...(entry.meta ?? {}) }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`
      : `${at} [${entry.level}] ${stripVTControlCharacters(entry.message)}${meta}\n`;
    if (this.fd !== null) fs.writeSync(this.fd, line);
    else process.stderr.write(line);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.file = null;
  }
}

let installed: RunLogSink | null = null;
let runtime: Runtime | null = null;

/**
 * Installs the Temporal runtime once for this process with Core's logs forwarded (WARN, or INFO with `verbose`)
 * to a RunLogSink; later calls return the same sink.
 * @example const log = installRunLogger(false); log.toFile('runs/r1/dnd.log');
 */
export function installRunLogger(verbose: boolean, json = false): RunLogSink {
  if (installed) return installed;
  const sink = new RunLogSink(verbose, json);
  const level = verbose ? 'INFO' : 'WARN';
  try {
    runtime = Runtime.install({
      logger: new DefaultLogger(level, (e) => sink.write(e)),
      telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }) } },
    });
  } catch { /* a runtime exists already (tests): its logger stays */ }
  installed = sink;
  return sink;
}

/**
 * Shuts the runtime installed by installRunLogger down (a no-op when its last worker already did): an idle
 * runtime that forwards logs keeps the process alive, so a command that never opened a worker would not exit.
 * @example await shutdownRunLogger()
 */
export async function shutdownRunLogger(): Promise<void> {
  const rt = runtime;
  runtime = null;
  installed?.close();
  if (rt) await rt.shutdown();
}
