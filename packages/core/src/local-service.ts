// What a locally started service needs before it starts: its binary (an environment variable naming it,
// else the infra/ script that provisions it) and free loopback ports. Shared by the embedded Temporal dev
// server (orchestrator) and the SeaweedFS test server (seaweedfs-server.ts). Not the services themselves.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * A provisioned binary: the path in `envVar` when set (it must exist), else the single line that
 * `bash infra/<script>` prints (the script downloads or builds it once into DND_CACHE).
 * @example provisionedBinary('DND_TEMPORAL_BIN', 'temporal.sh', 'a Temporal CLI')
 */
export function provisionedBinary(envVar: string, script: string, what: string, opts: { scriptStderr?: 'inherit' | 'ignore' } = {}): string {
  const env = process.env[envVar];
  if (env) {
    if (!fs.existsSync(env)) throw new Error(`${envVar}=${env} does not exist`);
    return env;
  }
  const out = execFileSync('bash', [path.join(REPO_ROOT, 'infra', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', opts.scriptStderr ?? 'ignore'] }).trim();
  if (!out || !fs.existsSync(out)) throw new Error(`infra/${script} did not provide ${what} (got "${out}")`);
  return out;
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
