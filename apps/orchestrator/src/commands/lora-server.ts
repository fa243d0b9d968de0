// The HTTP service behind `dnd serve`, on fastify: POST /v1/loras (prompts in, the generated PEFT adapter out
// as a tar with its dnd.json), GET /healthz, GET /metrics (Prometheus text via prom-client). Limits on prompt
// count, bytes and queue wait; a bounded queue answers 429 when full; bad input is a 4xx naming the problem.
// The adapter comes from generateAdapters, the function `dnd generate` calls, so its bytes are the same; `dnd serve`
// runs it in a child process (generator-process.ts) with a time limit, so this event loop never computes.
// Not the CLI wiring or signals (serve.ts), not generation (lora-generation.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { pack } from 'tar-stream';
import { BadInputError, checkNumber, isBadInput } from '@dnd/core';
import { GenerationTimeoutError, type ServedGenerator } from './generator-process';
import { generateAdapters, type GenerationRecord, type OpenGenerator } from './lora-generation';
import { decodeUtf8 } from './prompt-input';

/** Limits and address of the service. */
export interface ServeConfig {
  host: string;
  port: number;
  /** Most prompts in one request. */
  maxPrompts: number;
  /** Most UTF-8 bytes of one prompt. */
  maxPromptBytes: number;
  /** Most bytes of a request body. */
  maxBodyBytes: number;
  /** Most LoRAs (samples) one request may ask for. */
  maxSamples: number;
  /** Requests that may wait while one generates; one more is answered 429. */
  queueSize: number;
  /** A request still waiting for its turn after this long is answered 503. */
  queueTimeoutMs: number;
  /** A generation running longer is stopped (its process killed) and answered 503 (enforced by GeneratorProcess). */
  generateTimeoutMs: number;
}

export const DEFAULT_SERVE_CONFIG: ServeConfig = {
  host: '127.0.0.1', // loopback: exposing it is a deliberate choice (--host 0.0.0.0)
  port: 8080, // the usual alternative HTTP port
  maxPrompts: 1024, // far above N (16-128) yet a bounded encoder batch per sample
  maxPromptBytes: 16384, // ~4k tokens of text; the encoder reads the first L positions anyway
  maxBodyBytes: 4 * 1024 * 1024, // 1024 prompts of ~4 KB
  maxSamples: 16, // K LoRAs per request: the paper reports K = 10
  queueSize: 16, // one generation at a time (one model, 2 cores); 16 more wait
  queueTimeoutMs: 30_000, // a client waiting longer is better told to retry
  generateTimeoutMs: 60_000, // one LoRA takes ~0.2 s idle (docs/benchmarks.md); 16 on a busy machine stay well inside
};

/** Throws naming the field and value of a config the service cannot run with. */
export function validateServeConfig(c: ServeConfig): ServeConfig {
  const w = 'ServeConfig';
  if (typeof c.host !== 'string' || !c.host) throw new BadInputError(`${w}.host must be a host name or address, got ${JSON.stringify(c.host)}`);
  try {
    checkNumber(w, 'port', c.port, { integer: true, min: 0, max: 65535 });
    for (const f of ['maxPrompts', 'maxPromptBytes', 'maxBodyBytes', 'maxSamples', 'queueTimeoutMs', 'generateTimeoutMs'] as const) checkNumber(w, f, c[f], { integer: true, min: 1 });
    checkNumber(w, 'queueSize', c.queueSize, { integer: true, min: 0 });
  } catch (e) {
    throw new BadInputError((e as Error).message);
  }
  return c;
}

/** What POST /v1/loras accepts. */
interface LoraRequest {
  prompts: string[];
  samples?: number;
  seed?: number;
}

/** A 4xx with a status (fastify's error handler reads statusCode). */
class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** The files of an output directory (relative names, sorted) as one tar with fixed headers: equal files give equal bytes. */
async function tarOf(dir: string): Promise<Buffer> {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const f of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${f}` : f;
      if (fs.statSync(path.join(dir, r)).isDirectory()) walk(r); else files.push(r);
    }
  };
  walk('');
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => { p.on('data', (c: unknown) => { chunks.push(c as Buffer); }); p.on('end', resolve); p.on('error', reject); });
  for (const f of files) {
    const data = fs.readFileSync(path.join(dir, f));
    p.entry({ name: f, size: data.length, mode: 0o644, mtime: new Date(0) }, data);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function parseRequest(body: unknown, g: ServedGenerator, c: ServeConfig): Required<LoraRequest> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {"prompts": [...], "samples"?: K, "seed"?: S}');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['prompts', 'samples', 'seed'].includes(k));
  if (unknown.length) throw new HttpError(400, `unknown field(s) ${unknown.join(', ')}; expected prompts, samples, seed`);
  if (!Array.isArray(b['prompts'])) throw new HttpError(400, '"prompts" must be a list of strings');
  const prompts = b['prompts'] as unknown[];
  if (prompts.length === 0) throw new HttpError(400, '"prompts" is empty');
  if (prompts.length > c.maxPrompts) throw new HttpError(413, `${prompts.length} prompts; at most ${c.maxPrompts} per request`);
  prompts.forEach((p, i) => {
    if (typeof p !== 'string' || !p.trim()) throw new HttpError(400, `prompts[${i}] must be a non-empty string`);
    if (Buffer.byteLength(p, 'utf8') > c.maxPromptBytes) throw new HttpError(413, `prompts[${i}] is ${Buffer.byteLength(p, 'utf8')} bytes; at most ${c.maxPromptBytes}`);
  });
  const N = g.manifest.condition.promptsPerLora;
  if (prompts.length < N) throw new HttpError(400, `${prompts.length} prompts given, the generator takes N = ${N} per LoRA`);
  const samples = b['samples'] ?? 1, seed = b['seed'] ?? 0;
  if (!Number.isInteger(samples) || (samples as number) < 1 || (samples as number) > c.maxSamples) throw new HttpError(400, `"samples" must be an integer in [1, ${c.maxSamples}], got ${JSON.stringify(samples)}`);
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > 2 ** 32 - 1) throw new HttpError(400, `"seed" must be an integer in [0, 2^32), got ${JSON.stringify(seed)}`);
  return { prompts: prompts as string[], samples: samples as number, seed: seed as number };
}

/** Options that are not configuration. */
export interface LoraServerOptions {
  /** Awaited when a request gets its turn, before generating (tests hold a request there to fill the queue). */
  beforeGenerate?: () => Promise<void>;
}

/**
 * A generator opened in this process as a ServedGenerator (no time limit: generation blocks this event loop;
 * for tests and embedding; `dnd serve` uses GeneratorProcess).
 */
export function inProcessGenerator(g: OpenGenerator): ServedGenerator {
  return { digest: g.digest, manifest: g.manifest, generate: (req, outDir) => generateAdapters(g, req, outDir) };
}

/**
 * The fastify app around a generator (not listening yet: call `listen`). Closing it stops accepting
 * connections and waits for the requests in flight and queued; the generator stays the caller's to close.
 * A queued request whose client has gone is dropped when its turn comes, not generated.
 * @example const app = buildLoraServer(await GeneratorProcess.open('gen', {}, { timeoutMs: 60_000 }), DEFAULT_SERVE_CONFIG); await app.listen({ port: 8080 });
 */
export function buildLoraServer(g: ServedGenerator, config: ServeConfig, opts: LoraServerOptions = {}): FastifyInstance {
  const c = validateServeConfig({ ...config });
  const app = Fastify({ bodyLimit: c.maxBodyBytes, logger: false, return503OnClosing: true });
  const registry = new Registry();
  const requests = new Counter({ name: 'dnd_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const errors = new Counter({ name: 'dnd_http_errors_total', help: 'HTTP responses with status >= 400, by route and status', labelNames: ['route', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'dnd_http_request_duration_seconds', help: 'Request latency (queue wait + generation for /v1/loras)', labelNames: ['route'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  const generated = new Counter({ name: 'dnd_loras_generated_total', help: 'LoRAs generated', registers: [registry] });
  const queueDepth = new Gauge({ name: 'dnd_queue_depth', help: 'Requests waiting for their turn', registers: [registry] });
  const abandoned = new Counter({ name: 'dnd_requests_abandoned_total', help: 'Queued requests dropped at their turn because the client had gone', registers: [registry] });

  // One generation at a time; up to queueSize wait, in order.
  let busy = false;
  const waiting: Array<{ go: () => void }> = [];
  const acquire = (): Promise<void> => {
    if (!busy) { busy = true; return Promise.resolve(); }
    if (waiting.length >= c.queueSize) return Promise.reject(new HttpError(429, `the queue is full (${c.queueSize} waiting); retry later`));
    return new Promise<void>((resolve, reject) => {
      const entry = { go: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(entry), 1);
        queueDepth.set(waiting.length);
        reject(new HttpError(503, `waited ${c.queueTimeoutMs} ms without a turn; retry later`));
      }, c.queueTimeoutMs);
      waiting.push(entry);
      queueDepth.set(waiting.length);
    });
  };
  const release = (): void => {
    const next = waiting.shift();
    queueDepth.set(waiting.length);
    if (next) next.go(); else busy = false;
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      const text = decodeUtf8(body as Buffer, 'the request body');
      done(null, JSON.parse(text));
    } catch (e) {
      done(new HttpError(400, isBadInput(e) ? (e as Error).message : `the request body is not valid JSON (${(e as Error).message})`), undefined);
    }
  });

  // Once close() starts, a response still in flight tells its client to close the connection: otherwise a
  // keep-alive socket would hold close() open for the keep-alive timeout (72 s) after the last answer.
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onSend', async (_req, reply) => { if (closing) void reply.header('connection', 'close'); });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    if (reply.statusCode >= 400) errors.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    let status = err.statusCode ?? (isBadInput(err) ? 400 : 500);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') status = 415;
    const message = status === 415 ? 'send the prompts as application/json: {"prompts": [...]}' : status === 413 && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the body is over ${c.maxBodyBytes} bytes` : err.message;
    if (status === 429) void reply.header('retry-after', '1');
    void reply.code(status).send({ error: message });
  });

  app.get('/healthz', async () => ({
    status: 'ok', generator: g.digest, baseModel: g.manifest.baseModel.name, encoder: g.manifest.encoder.name,
    promptsPerLora: g.manifest.condition.promptsPerLora, busy, queued: waiting.length,
  }));

  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.post('/v1/loras', async (req, reply) => {
    const r = parseRequest(req.body, g, c);
    let gone = false;
    reply.raw.once('close', () => { gone = true; });
    await acquire();
    if (gone) { abandoned.inc(); release(); return reply; }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-serve-'));
    try {
      await opts.beforeGenerate?.();
      let rec: GenerationRecord;
      try {
        rec = await g.generate(r, path.join(tmp, 'out'));
      } catch (e) {
        if (e instanceof GenerationTimeoutError) throw new HttpError(503, e.message);
        throw isBadInput(e) ? new HttpError(400, (e as Error).message) : e;
      }
      generated.inc(rec.samples.length);
      const tar = await tarOf(path.join(tmp, 'out'));
      void reply.header('content-type', 'application/x-tar').header('x-dnd-generator', g.digest).header('x-dnd-seconds', rec.seconds.toFixed(4)).header('x-dnd-samples', String(rec.samples.length));
      return tar;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
      release();
    }
  });

  return app;
}
