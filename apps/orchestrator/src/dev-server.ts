// Starts and stops the embedded Temporal dev server (the official CLI's `temporal server start-dev`)
// with its SQLite file in the run directory, so workflow history survives a restart.
// Not for production: infra/docker-compose.yml describes a PostgreSQL-backed cluster.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Connection } from '@temporalio/client';
import { freePort, provisionedBinary } from '@dnd/core';

/** A running dev server started by this process. */
export interface DevServer {
  /** gRPC address, e.g. `127.0.0.1:41233`. */
  address: string;
  /** Web UI base URL, or null when headless. */
  uiUrl: string | null;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** Options of startDevServer. */
export interface DevServerOptions {
  /** SQLite file (created if absent). */
  dbFile: string;
  /** Serve the Web UI (default true). */
  ui?: boolean;
  /** The CLI binary (default: DND_TEMPORAL_BIN, else `bash infra/temporal.sh`). */
  bin?: string;
  /** Where the server's stdout/stderr go (default: `<dbFile dir>/temporal-server.log`). */
  logFile?: string;
  /** Give up waiting for the server after this long (default 60 s). */
  startTimeoutMs?: number;
  /**
   * The address it listens on: 127.0.0.1 (default) or 0.0.0.0, every interface (tests whose hosts live in other
   * network namespaces). `address` stays on loopback. Not a single other address: start-dev's internal services
   * then still dial each other on 127.0.0.1 and fail (Temporal CLI 1.9.1).
   */
  ip?: '127.0.0.1' | '0.0.0.0';
}

/** The Temporal CLI binary: DND_TEMPORAL_BIN, else provisioned by infra/temporal.sh (pinned, checksummed). */
export function temporalBinary(): string {
  return provisionedBinary('DND_TEMPORAL_BIN', 'temporal.sh', 'a Temporal CLI');
}

/** A TCP port that was free a moment ago (re-exported from @dnd/core for the orchestrator's users). */
export { freePort };

/**
 * Starts `temporal server start-dev` on free ports and waits until its frontend answers.
 * @example const srv = await startDevServer({ dbFile: 'runs/r1/temporal.db' }); ...; await srv.stop();
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const bin = opts.bin ?? temporalBinary();
  fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  const [port, uiPort] = [await freePort(), await freePort()];
  const ui = opts.ui ?? true;
  const ip = opts.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--db-filename', path.resolve(opts.dbFile), '--port', String(port), '--ip', ip, '--log-level', 'warn'];
  if (ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  const logFile = opts.logFile ?? path.join(path.dirname(path.resolve(opts.dbFile)), 'temporal-server.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited: number | null = null;
  const gone = new Promise<void>((resolve) => child.once('exit', (code) => { exited = code ?? -1; resolve(); }));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== null) throw new Error(`temporal dev server exited with ${exited} before it was ready; see ${logFile}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not answer on ${address} within ${opts.startTimeoutMs ?? 60_000} ms: ${(e as Error).message}; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    uiUrl: ui ? `http://127.0.0.1:${uiPort}` : null,
    pid: child.pid!,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
