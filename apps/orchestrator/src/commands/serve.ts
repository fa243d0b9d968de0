// `dnd serve`: loads a generator once and serves LoRAs on demand over HTTP (lora-server.ts) until SIGINT or
// SIGTERM, then shuts down gracefully (no new connections; requests in flight and queued finish). Not the
// routes or limits themselves (lora-server.ts).
import type { Command } from 'commander';
import { BadInputError } from '@dnd/core';
import { DEFAULT_RUN_CONFIG } from '../config';
import { GeneratorProcess } from './generator-process';
import { buildLoraServer, DEFAULT_SERVE_CONFIG, validateServeConfig, type ServeConfig } from './lora-server';

const int = (what: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new BadInputError(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number.parseInt(v, 10);
};

/** Registers `dnd serve` on the CLI. */
export function registerServe(program: Command, out: (s: string) => void, note: (s: string) => void): void {
  const d = DEFAULT_SERVE_CONFIG;
  program
    .command('serve')
    .description('serve LoRAs on demand over HTTP from a trained generator: POST /v1/loras, GET /healthz, GET /metrics')
    .requiredOption('--generator <dir|alias>', 'a generator directory (dnd export-generator) or an artifact alias such as latest-generator')
    .option('--host <addr>', 'address to listen on', d.host)
    .option('--port <n>', 'port (0 = any free port, printed)', int('--port'), d.port)
    .option('--max-prompts <n>', 'most prompts per request', int('--max-prompts'), d.maxPrompts)
    .option('--max-prompt-bytes <n>', 'most UTF-8 bytes per prompt', int('--max-prompt-bytes'), d.maxPromptBytes)
    .option('--max-body-bytes <n>', 'most bytes per request body', int('--max-body-bytes'), d.maxBodyBytes)
    .option('--max-samples <n>', 'most LoRAs per request', int('--max-samples'), d.maxSamples)
    .option('--queue <n>', 'requests that may wait while one generates (one more gets 429)', int('--queue'), d.queueSize)
    .option('--queue-timeout-ms <n>', 'a request waiting longer for its turn gets 503', int('--queue-timeout-ms'), d.queueTimeoutMs)
    .option('--generate-timeout-ms <n>', 'a generation running longer is stopped and gets 503', int('--generate-timeout-ms'), d.generateTimeoutMs)
    .option('--encoder <dir|name>', 'the text encoder (default: the generator\'s, by name under the model cache)')
    .option('--base <name|dir>', 'refuse to start unless the generator is for this base model')
    .option('--artifacts <dir>', 'artifact store holding aliases', DEFAULT_RUN_CONFIG.artifactsDir)
    .addHelpText('after', '\nPOST /v1/loras with Content-Type: application/json and {"prompts": [...], "samples": 1, "seed": 0}\n'
      + 'answers application/x-tar: adapter_config.json, adapter_model.safetensors, dnd.json (K > 1: lora-<k>/ each),\n'
      + 'byte-identical to `dnd generate` for the same generator, prompts, samples and seed. Errors are JSON {"error": ...}\n'
      + 'with 400 (bad input), 413 (too large), 415 (not JSON), 429 (queue full), 503 (waited too long / shutting down).\n'
      + 'Example:\n  dnd serve --generator generators/cs --port 8080 &\n'
      + '  curl -s -H "content-type: application/json" -d @request.json localhost:8080/v1/loras | tar -x -C my-lora')
    .action(async (o: { generator: string; host: string; port: number; maxPrompts: number; maxPromptBytes: number; maxBodyBytes: number; maxSamples: number; queue: number; queueTimeoutMs: number; generateTimeoutMs: number; encoder?: string; base?: string; artifacts: string }) => {
      const config: ServeConfig = validateServeConfig({
        host: o.host, port: o.port, maxPrompts: o.maxPrompts, maxPromptBytes: o.maxPromptBytes, maxBodyBytes: o.maxBodyBytes,
        maxSamples: o.maxSamples, queueSize: o.queue, queueTimeoutMs: o.queueTimeoutMs, generateTimeoutMs: o.generateTimeoutMs,
      });
      // The generator lives in a child process: generation never blocks this event loop, and one that runs past
      // --generate-timeout-ms is killed (the next request gets a fresh process).
      const g = await GeneratorProcess.open(o.generator, { encoder: o.encoder, baseModel: o.base, artifactsDir: o.artifacts }, { timeoutMs: config.generateTimeoutMs });
      const app = buildLoraServer(g, config);
      let stopping: Promise<void> | null = null;
      const stop = (signal: string): void => {
        if (stopping) return;
        note(`${signal}: no new connections; finishing requests in flight`);
        stopping = app.close().then(() => { g.close(); note('stopped'); process.exit(0); }, (e: Error) => { note(`shutdown failed: ${e.message}`); process.exit(1); });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      const address = await app.listen({ host: config.host, port: config.port });
      note(`generator ${g.manifest.baseModel.name} / ${g.manifest.encoder.name}, N = ${g.manifest.condition.promptsPerLora} (${g.digest.slice(0, 12)})`);
      out(`listening on ${address}`);
      await new Promise(() => undefined);
    });
}
