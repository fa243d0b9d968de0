// `dnd serve` over real HTTP on loopback: the service (lora-server.ts) listening on a free port with a tiny
// generator answers /healthz, /metrics and /v1/loras; the adapter it returns is byte-identical to `dnd generate`'s
// for the same prompts and seed; bad requests get the 4xx that names them; a full queue answers 429 and a
// long wait 503; a queued request whose client left is dropped; generation in its own process (as `dnd serve` runs it)
// leaves the server answering, is stopped past its time limit and restarts; and the `dnd serve` command (a child
// process) serves and shuts down gracefully on SIGTERM.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import type { FastifyInstance } from 'fastify';
import { extract } from 'tar-stream';
import { initBackend } from '@dnd/core';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { runGenerate } from '../src/commands/generate';
import { openGenerator, type OpenGenerator } from '../src/commands/lora-generation';
import { GeneratorProcess, type ServedGenerator } from '../src/commands/generator-process';
import { buildLoraServer, DEFAULT_SERVE_CONFIG, inProcessGenerator, type ServeConfig } from '../src/commands/lora-server';
import { ORCH_ROOT, tmpDir } from './support/env';
import { TINY_N, writeTinyGenerator } from './support/tiny-generator';

const root = tmpDir('serve');
const genDir = path.join(root, 'generator');
const PROMPTS = ['Is the sky blue on a clear day?', 'Does ice float on water?', 'Can a fish climb a tree?', 'Is the sun a star?', 'Do penguins fly?'];
let g: OpenGenerator;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  await initBackend();
  await writeTinyGenerator(genDir);
  g = await openGenerator(genDir, { encoder: tinyBertFixtureDir() });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  g?.dispose();
});

async function serve(cfg: Partial<ServeConfig> = {}, beforeGenerate?: () => Promise<void>, served: ServedGenerator = inProcessGenerator(g)): Promise<string> {
  const app = buildLoraServer(served, { ...DEFAULT_SERVE_CONFIG, port: 0, ...cfg }, { beforeGenerate });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

const post = (url: string, body: unknown, type = 'application/json'): Promise<Response> =>
  fetch(`${url}/v1/loras`, { method: 'POST', headers: { 'content-type': type }, body: Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body) });

async function untar(buf: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const x = extract();
  x.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
    stream.on('end', () => { files.set(h.name, Buffer.concat(chunks)); next(); });
  });
  await new Promise<void>((resolve, reject) => { x.on('finish', resolve); x.on('error', reject); Readable.from(buf).pipe(x); });
  return files;
}

describe('dnd serve', () => {
  it('serves the adapter dnd generate writes, byte for byte, with health and metrics', async () => {
    const url = await serve();
    const health = await (await fetch(`${url}/healthz`)).json() as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', generator: g.digest, baseModel: 'llama', encoder: 'tiny-bert', promptsPerLora: TINY_N });

    fs.writeFileSync(path.join(root, 'p.txt'), PROMPTS.join('\n'));
    for (const samples of [1, 2]) {
      const res = await post(url, { prompts: PROMPTS, seed: 5, samples });
      expect([res.status, res.headers.get('content-type'), res.headers.get('x-dnd-generator')]).toEqual([200, 'application/x-tar', g.digest]);
      const files = await untar(Buffer.from(await res.arrayBuffer()));
      const out = path.join(root, `cli-${samples}`);
      await runGenerate({ generator: genDir, prompts: path.join(root, 'p.txt'), out, samples, seed: 5, encoder: tinyBertFixtureDir() });
      const dirs = samples === 1 ? [''] : ['lora-0/', 'lora-1/'];
      expect([...files.keys()].sort()).toEqual([...dirs.flatMap((d) => [`${d}adapter_config.json`, `${d}adapter_model.safetensors`]), 'dnd.json'].sort());
      for (const d of dirs) for (const f of ['adapter_config.json', 'adapter_model.safetensors']) expect(files.get(`${d}${f}`)!.equals(fs.readFileSync(path.join(out, d, f)))).toBe(true);
      const rec = JSON.parse(files.get('dnd.json')!.toString('utf8'));
      expect(rec).toMatchObject({ seed: 5, generator: { digest: g.digest }, promptHashes: expect.any(Array) });
    }

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('dnd_http_requests_total{route="/v1/loras",method="POST",status="200"} 2');
    expect(metrics).toContain('dnd_http_request_duration_seconds_bucket{le="+Inf",route="/v1/loras"} 2');
    expect(metrics).toContain('dnd_loras_generated_total 3');
  });

  it('answers bad requests with the 4xx that names them', async () => {
    const url = await serve({ maxBodyBytes: 4096, maxPromptBytes: 256, maxPrompts: 8, maxSamples: 3 });
    const cases: Array<[string, Promise<Response>, number, string]> = [
      ['empty list', post(url, { prompts: [] }), 400, '"prompts" is empty'],
      ['not a list', post(url, { prompts: 'one' }), 400, '"prompts" must be a list of strings'],
      ['too few', post(url, { prompts: PROMPTS.slice(0, 3) }), 400, `3 prompts given, the generator takes N = ${TINY_N} per LoRA`],
      ['blank prompt', post(url, { prompts: [...PROMPTS.slice(0, 3), '  '] }), 400, 'prompts[3] must be a non-empty string'],
      ['unknown field', post(url, { prompts: PROMPTS, temperature: 1 }), 400, 'unknown field(s) temperature'],
      ['samples', post(url, { prompts: PROMPTS, samples: 4 }), 400, '"samples" must be an integer in [1, 3], got 4'],
      ['not JSON', post(url, '{"prompts": ['), 400, 'the request body is not valid JSON'],
      ['not UTF-8', post(url, Buffer.concat([Buffer.from('{"prompts": ["caf'), Buffer.from([0xe9]), Buffer.from('"]}')])), 400, 'the request body: not UTF-8 text'],
      ['wrong content type', post(url, PROMPTS.join('\n'), 'text/plain'), 415, 'send the prompts as application/json'],
      ['too many prompts', post(url, { prompts: Array.from({ length: 9 }, (_, i) => `prompt ${i}`) }), 413, '9 prompts; at most 8 per request'],
      ['long prompt', post(url, { prompts: [...PROMPTS.slice(0, 3), 'x'.repeat(300)] }), 413, 'prompts[3] is 300 bytes; at most 256'],
      ['oversized body', post(url, { prompts: ['y'.repeat(5000)] }), 413, 'the body is over 4096 bytes'],
    ];
    for (const [what, p, status, msg] of cases) {
      const res = await p;
      const body = await res.json() as { error: string };
      expect([what, res.status]).toEqual([what, status]);
      expect(body.error).toContain(msg);
    }
    expect((await fetch(`${url}/v2/nothing`)).status).toBe(404);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('dnd_http_errors_total{route="/v1/loras",status="413"} 3');
  });

  it('queues one request, answers 429 when the queue is full, and 503 after a long wait', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    let entered = 0;
    const url = await serve({ queueSize: 1 }, async () => { entered++; await gate; });
    const first = post(url, { prompts: PROMPTS });
    while (entered < 1) await new Promise((r) => setTimeout(r, 10));
    const second = post(url, { prompts: PROMPTS, seed: 1 });
    await new Promise((r) => setTimeout(r, 100)); // let the second reach the queue
    const third = await post(url, { prompts: PROMPTS, seed: 2 });
    expect([third.status, third.headers.get('retry-after'), (await third.json() as { error: string }).error]).toEqual([429, '1', 'the queue is full (1 waiting); retry later']);
    open();
    expect([(await first).status, (await second).status]).toEqual([200, 200]);

    let open2!: () => void;
    const gate2 = new Promise<void>((r) => { open2 = r; });
    let entered2 = 0;
    const url2 = await serve({ queueSize: 1, queueTimeoutMs: 200 }, async () => { entered2++; await gate2; });
    const held = post(url2, { prompts: PROMPTS });
    while (entered2 < 1) await new Promise((r) => setTimeout(r, 10));
    const late = await post(url2, { prompts: PROMPTS });
    expect([late.status, (await late.json() as { error: string }).error]).toEqual([503, 'waited 200 ms without a turn; retry later']);
    open2();
    expect((await held).status).toBe(200);
  });

  it('drops a queued request whose client has gone instead of generating it', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    let entered = 0;
    let generated = 0;
    const counting: ServedGenerator = { ...inProcessGenerator(g), generate: (req, out) => { generated++; return inProcessGenerator(g).generate(req, out); } };
    const url = await serve({ queueSize: 2 }, async () => { entered++; await gate; }, counting);
    const first = post(url, { prompts: PROMPTS });
    while (entered < 1) await new Promise((r) => setTimeout(r, 10));
    const abort = new AbortController();
    const second = fetch(`${url}/v1/loras`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompts: PROMPTS, seed: 1 }), signal: abort.signal });
    while (((await (await fetch(`${url}/healthz`)).json()) as { queued: number }).queued < 1) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await expect(second).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100)); // the server sees the connection close
    open();
    expect((await first).status).toBe(200);
    const third = await post(url, { prompts: PROMPTS, seed: 2 }); // after the dropped one's turn
    expect(third.status).toBe(200);
    expect(generated).toBe(2);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('dnd_requests_abandoned_total 1');
  });

  it('generates in a child process: the server answers while a LoRA is made, a generation over its limit is stopped (503) and the next request gets a fresh process with the same bytes', async () => {
    fs.writeFileSync(path.join(root, 'p.txt'), PROMPTS.join('\n'));
    const proc = await GeneratorProcess.open(genDir, { encoder: tinyBertFixtureDir() }, { timeoutMs: 60_000 });
    try {
      expect(proc.digest).toBe(g.digest);
      const url = await serve({}, undefined, proc);
      // While 16 LoRAs are made in the child, /healthz answers from this process and says it is busy.
      let doneAt = 0;
      const big = post(url, { prompts: PROMPTS, samples: 16 }).then((r) => { doneAt = performance.now(); return r; });
      let health: { busy: boolean } = { busy: false };
      while (!health.busy) health = await (await fetch(`${url}/healthz`)).json() as { busy: boolean };
      const healthAt = performance.now();
      expect((await big).status).toBe(200);
      expect(healthAt).toBeLessThan(doneAt);

      const pid = proc.pid;
      proc.timeoutMs = 1;
      const slow = await post(url, { prompts: PROMPTS, samples: 4 });
      expect([slow.status, (await slow.json() as { error: string }).error]).toEqual([503, 'generation took over 1 ms and was stopped; retry later or with fewer samples']);
      expect(proc.pid).toBeNull(); // forgotten at once, and gone within seconds
      const gone = async (): Promise<boolean> => { try { process.kill(pid!, 0); return false; } catch { return true; } };
      for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await gone()).toBe(true);
      proc.timeoutMs = 60_000;
      const again = await post(url, { prompts: PROMPTS, seed: 5 });
      expect(again.status).toBe(200);
      expect(proc.starts).toBe(2);
      const files = await untar(Buffer.from(await again.arrayBuffer()));
      const out = path.join(root, 'cli-child');
      await runGenerate({ generator: genDir, prompts: path.join(root, 'p.txt'), out, samples: 1, seed: 5, encoder: tinyBertFixtureDir() });
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) expect(files.get(f)!.equals(fs.readFileSync(path.join(out, f)))).toBe(true);
    } finally {
      proc.close();
    }
  });

  it('refuses a bad generator directory from the child process with its own message', async () => {
    const bad = path.join(root, 'no-such-generator');
    await expect(GeneratorProcess.open(bad, {}, { timeoutMs: 1000 })).rejects.toThrow(`generator directory ${bad} not found`);
  });

  it('runs as `dnd serve` and finishes the request in flight on SIGTERM', async () => {
    const child = spawn(process.execPath, ['-r', path.join(__dirname, 'support', 'register.cjs'), path.join(ORCH_ROOT, 'src', 'cli.ts'),
      'serve', '--generator', genDir, '--encoder', tinyBertFixtureDir(), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    while (!/listening on (http:\/\/\S+)/.test(stdout) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
    let answeredAt = 0;
    const inFlight = post(url, { prompts: PROMPTS, samples: 16 }).then((r) => { answeredAt = performance.now(); return r; });
    await new Promise((r) => setTimeout(r, 150)); // the request is being served (16 LoRAs take longer than this)
    const killedAt = performance.now();
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(answeredAt).toBeGreaterThan(killedAt); // it was in flight when the signal came
    expect(res.headers.get('connection')).toBe('close'); // so its keep-alive socket does not hold the shutdown open
    expect((await untar(Buffer.from(await res.arrayBuffer()))).size).toBe(16 * 2 + 1);
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: no new connections; finishing requests in flight');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
