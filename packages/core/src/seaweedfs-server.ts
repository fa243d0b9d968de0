// Starts a real SeaweedFS server (`weed server -s3`, from infra/seaweedfs.sh) on loopback and free ports,
// with one S3 identity and a bucket: the S3 endpoint of the tests and of a local multi-process set-up.
// Not a production deployment, and not an S3 client (s3-artifact-store.ts).
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { freePort, provisionedBinary } from './local-service';
import { awsSdk } from './s3-artifact-store';

/** A running SeaweedFS server. */
export interface SeaweedFsServer {
  /** The S3 endpoint, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  /** The one identity the server accepts (admin on every bucket). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Buckets created at start. */
  buckets: string[];
  /** The server's process id (tests kill it to make the endpoint unreachable). */
  pid: number;
  /** Where its data and log (`weed.log`) live. */
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * The `weed` binary: DND_SEAWEEDFS_BIN, else what `bash infra/seaweedfs.sh` provisions (builds it once).
 * @example execFileSync(seaweedFsBinary(), ['version'])
 */
export function seaweedFsBinary(): string {
  return provisionedBinary('DND_SEAWEEDFS_BIN', 'seaweedfs.sh', 'a weed binary', { scriptStderr: 'inherit' });
}

// N distinct ports that were free a moment ago (every gRPC port is given explicitly).
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts `weed server` (master, volume, filer, S3 gateway in one process) under `dir` on loopback (or `ip`), with a
 * random access key/secret as its only S3 identity, creates `buckets`, and resolves once S3 answers.
 * @example
 * const s3 = await startSeaweedFs({ dir: '/tmp/sw', buckets: ['dnd'] });
 * new S3ArtifactStore({ bucket: 'dnd', endpoint: s3.endpoint, credentials: s3.credentials });
 * await s3.stop();
 */
export async function startSeaweedFs(opts: { dir: string; buckets?: string[]; bin?: string; startTimeoutMs?: number; ip?: string }): Promise<SeaweedFsServer> {
  const bin = opts.bin ?? seaweedFsBinary();
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const credentials = { accessKeyId: `dnd${crypto.randomBytes(6).toString('hex')}`, secretAccessKey: crypto.randomBytes(20).toString('hex') };
  const s3Config = path.join(dir, 's3.json');
  fs.writeFileSync(s3Config, JSON.stringify({
    identities: [{ name: 'dnd', credentials: [{ accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }],
  }));
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freePorts(8);
  const ip = opts.ip ?? '127.0.0.1'; // tests give a bridge address that other network namespaces reach
  const args = ['server', `-dir=${path.join(dir, 'data')}`, `-ip=${ip}`, `-ip.bind=${ip}`,
    `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, '-master.volumeSizeLimitMB=64',
    `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, '-volume.max=20',
    '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`,
    '-s3', `-s3.port=${s3}`, `-s3.port.grpc=${s3Grpc}`, `-s3.config=${s3Config}`, '-s3.port.iceberg=0', '-s3.port.lance=0'];
  const logFile = path.join(dir, 'weed.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited: number | null = null;
  const gone = new Promise<void>((resolve) => child.once('exit', (code) => { exited = code ?? -1; resolve(); }));
  const stop = async (): Promise<void> => {
    if (exited !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  };
  const endpoint = `http://${ip}:${s3}`;
  const buckets = opts.buckets ?? [];
  const { S3Client, CreateBucketCommand } = awsSdk().s3;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  try {
    for (const bucket of buckets) {
      // The first CreateBucket succeeds once master, volume, filer and gateway are all up.
      for (;;) {
        if (exited !== null) throw new Error(`weed server exited with ${exited} before it was ready; see ${logFile}`);
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          break;
        } catch (e) {
          const name = (e as Error).name;
          if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') break;
          if (Date.now() > deadline) throw new Error(`weed server did not accept CreateBucket ${bucket} within ${opts.startTimeoutMs ?? 90_000} ms (last: ${name}: ${(e as Error).message}); see ${logFile}`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    client.destroy();
  }
  return { endpoint, credentials, buckets, pid: child.pid!, dir, stop };
}
