// A generator held by a child process (generator-child.ts), for `dnd serve`: generation is synchronous tensor
// work, so in the server's own process it would stall every other request, and a request could not be stopped
// once started. Here each request is sent to the child; one that runs past its time limit, or a child that
// dies, kills the child, fails that request, and starts a fresh child for the next one. Not the HTTP service
// (lora-server.ts) and not generation itself (lora-generation.ts).
import { fork, type ChildProcess } from 'child_process';
import type { GeneratorManifest } from '@dnd/decoder';
import { deserializeError, type SerializedError } from '../activities/step-ipc';
import { childEntry } from '../child-entry';
import type { GenerateRequest, GenerationRecord, OpenGeneratorOptions } from './lora-generation';

/** Parent to child. */
export type ToGeneratorChild =
  | { t: 'open'; ref: string; options: OpenGeneratorOptions }
  | { t: 'generate'; id: number; request: GenerateRequest; outDir: string };
/** Child to parent. */
export type FromGeneratorChild =
  | { t: 'ready'; digest: string; manifest: GeneratorManifest }
  | { t: 'failed'; error: SerializedError }
  | { t: 'done'; id: number; record?: GenerationRecord; error?: SerializedError };

/** What the HTTP service needs of a generator: its identity and a way to write a request's adapters. */
export interface ServedGenerator {
  digest: string;
  manifest: GeneratorManifest;
  /** Writes the adapters of `req` at `outDir`, as `dnd generate` does. */
  generate(req: GenerateRequest, outDir: string): Promise<GenerationRecord>;
}

/** Thrown when a generation ran past its limit (the child was killed; the next request gets a fresh one). */
export class GenerationTimeoutError extends Error {
  override name = 'GenerationTimeoutError';
}

/**
 * A generator opened in a child process. `generate` runs one request at a time (the caller queues);
 * `timeoutMs` bounds each request's generation. Call `close()`.
 * @example const g = await GeneratorProcess.open('generators/cs', {}, { timeoutMs: 30_000 }); await g.generate(req, 'out'); g.close();
 */
export class GeneratorProcess implements ServedGenerator {
  private child: ChildProcess | null = null;
  private starting: Promise<void> | null = null;
  private nextId = 1;
  private closed = false;
  digest = '';
  manifest!: GeneratorManifest;
  /** Children started so far (1 + restarts); for /healthz and the tests. */
  starts = 0;
  private stderrTail = '';

  /** The limit of each generation (ms); may be changed between requests. */
  timeoutMs: number;

  private constructor(private readonly ref: string, private readonly options: OpenGeneratorOptions, timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Starts the child and waits until it has opened the generator (its errors, such as a bad directory, are thrown here). */
  static async open(ref: string, options: OpenGeneratorOptions, o: { timeoutMs: number }): Promise<GeneratorProcess> {
    const p = new GeneratorProcess(ref, options, o.timeoutMs);
    await p.start();
    return p;
  }

  private start(): Promise<void> {
    if (this.starting) return this.starting;
    const { file, execArgv } = childEntry(__dirname, 'generator-child');
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child = child;
    this.starts += 1;
    this.stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + String(d)).slice(-2000); process.stderr.write(d); });
    child.once('exit', () => { if (this.child === child) { this.child = null; this.starting = null; } });
    this.starting = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromGeneratorChild): void => {
        if (m.t === 'ready') { child.off('message', onMessage); child.off('exit', onExit); this.digest = m.digest; this.manifest = m.manifest; resolve(); }
        if (m.t === 'failed') { child.off('message', onMessage); child.off('exit', onExit); reject(deserializeError(m.error)); }
      };
      const onExit = (code: number | null, signal: string | null): void => {
        child.off('message', onMessage);
        reject(new Error(`the generator process exited (${signal ?? `code ${code}`}) before it opened ${this.ref}${this.lastOutput()}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ t: 'open', ref: this.ref, options: this.options } satisfies ToGeneratorChild);
    });
    this.starting.catch(() => { this.starting = null; });
    return this.starting;
  }

  async generate(request: GenerateRequest, outDir: string): Promise<GenerationRecord> {
    if (this.closed) throw new Error('the generator process is closed');
    await this.start();
    const child = this.child!;
    const id = this.nextId++;
    return new Promise<GenerationRecord>((resolve, reject) => {
      const finish = (): void => { clearTimeout(timer); child.off('message', onMessage); child.off('exit', onExit); };
      const onMessage = (m: FromGeneratorChild): void => {
        if (m.t !== 'done' || m.id !== id) return;
        finish();
        if (m.error) reject(deserializeError(m.error)); else resolve(m.record!);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        finish();
        reject(new Error(`the generator process died (${signal ?? `code ${code}`}) while generating${this.lastOutput()}`));
      };
      const timer = setTimeout(() => {
        finish();
        this.discard(child); // the next request starts a fresh child
        reject(new GenerationTimeoutError(`generation took over ${this.timeoutMs} ms and was stopped; retry later or with fewer samples`));
      }, this.timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ t: 'generate', id, request, outDir } satisfies ToGeneratorChild);
    });
  }

  // The child's last stderr lines, for an error message ('' when it printed nothing).
  private lastOutput(): string {
    const t = this.stderrTail.trim();
    return t ? `: ${t.split('\n').slice(-3).join(' | ')}` : '';
  }

  // Kills `child` and forgets it at once, so the next request does not reach a process that is still dying.
  private discard(child: ChildProcess): void {
    if (this.child === child) { this.child = null; this.starting = null; }
    child.kill('SIGKILL');
  }

  /** The child's pid, or null between a kill and the next request. */
  get pid(): number | null { return this.child?.pid ?? null; }

  close(): void {
    this.closed = true;
    if (this.child) this.discard(this.child);
  }
}
