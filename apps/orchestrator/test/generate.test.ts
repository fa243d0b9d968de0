// `dnd generate` as a user runs it (the real CLI in a child process, TypeScript through the tests' swc hook) on
// a tiny generator directory: text, JSONL on stdin and instruction-format JSON prompts; one adapter or K; the
// dnd.json record; output identical to the in-process function; and every bad input a clear error with
// nothing written (empty, unknown format, non-UTF-8, too few prompts, missing or corrupt generator, another
// base model, an encoder that is not there or not the one it was trained with).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, readPeftAdapter, sha256Hex } from '@dnd/core';
import { readGeneratorManifest, samplePromptIndices } from '@dnd/decoder';
import { tinyBertFixtureDir } from '@dnd/encoder';
import { runGenerate } from '../src/commands/generate';
import type { GenerationRecord } from '../src/commands/lora-generation';
import { DATA_DIR, ORCH_ROOT, tmpDir } from './support/env';
import { TINY_N, writeTinyGenerator } from './support/tiny-generator';

const CLI = path.join(ORCH_ROOT, 'src', 'cli.ts');
const REGISTER = path.join(__dirname, 'support', 'register.cjs');
const PROMPTS = ['Is the sky blue on a clear day?', 'Does ice float on water?', 'Can a fish climb a tree?', 'Is the sun a star?', 'Do penguins fly?', 'Is 7 a prime number?'];

/** Runs `dnd ...` to its exit; `input` goes to stdin. */
function dnd(cwd: string, env: Record<string, string>, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const root = tmpDir('generate');
const genDir = path.join(root, 'generator');
const cache = path.join(root, 'cache');
const env = { DND_CACHE: cache };

beforeAll(async () => {
  await initBackend();
  await writeTinyGenerator(genDir);
  // The model cache as the bootstrap lays it out: the encoder by its name.
  fs.mkdirSync(path.join(cache, 'models'), { recursive: true });
  fs.symlinkSync(tinyBertFixtureDir(), path.join(cache, 'models', 'tiny-bert'));
  fs.writeFileSync(path.join(root, 'task.txt'), `${PROMPTS.join('\n')}\n\n`);
});

describe('dnd generate', () => {
  it('writes a PEFT adapter and dnd.json from a text file, identical to the in-process generation', async () => {
    const r = await dnd(root, env, ['generate', '--generator', genDir, '--prompts', 'task.txt', '--out', 'lora']);
    expect(r.stderr).not.toMatch(/dnd: /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/generated 1 LoRA\(s\) for llama in \d+\.\d\d s/);
    const out = path.join(root, 'lora');
    expect(fs.readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'dnd.json']);
    const a = readPeftAdapter(out);
    expect(a.config).toMatchObject({ r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'llama' });
    expect(a.tensors.size).toBe(2 * 2 * 2); // 2 layers x (q, v) x (A, B)
    const rec = JSON.parse(fs.readFileSync(path.join(out, 'dnd.json'), 'utf8')) as GenerationRecord;
    expect(rec.generator.digest).toBe(readGeneratorManifest(genDir).digest);
    expect(rec.promptHashes).toEqual(PROMPTS.map((p) => sha256Hex(Buffer.from(p, 'utf8'))));
    expect(rec.seed).toBe(0);
    expect(rec.samples).toEqual([expect.objectContaining({ dir: '.', sample: 0, promptIndices: samplePromptIndices(0, 'lora', 0, PROMPTS.length, TINY_N) })]);
    expect(rec.seconds).toBeGreaterThan(0);
    // The prompts are longer than the generator's L = 8 encoder positions: truncated, and said so.
    expect(rec.truncated).toBe(TINY_N);
    expect(r.stderr).toContain(`${TINY_N} prompt(s) were longer than the encoder's text length and were truncated`);

    const again = await runGenerate({ generator: genDir, prompts: path.join(root, 'task.txt'), out: path.join(root, 'lora-in-process'), samples: 1, seed: 0, encoder: tinyBertFixtureDir() });
    expect(again.samples[0]!.promptIndices).toEqual(rec.samples[0]!.promptIndices);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      expect(fs.readFileSync(path.join(root, 'lora-in-process', f)).equals(fs.readFileSync(path.join(out, f)))).toBe(true);
    }
  });

  it('reads JSONL on stdin and writes K adapters with --samples, printing JSON with --json', async () => {
    const jsonl = PROMPTS.map((p, i) => JSON.stringify(i % 2 ? p : { instruction: p, input: 'ignored', output: 'ignored' })).join('\n');
    const r = await dnd(root, env, ['generate', '--generator', genDir, '--prompts', '-', '--out', 'k3', '--samples', '3', '--seed', '7', '--json'], jsonl);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as GenerationRecord & { out: string };
    expect(printed.out).toBe(path.join(root, 'k3'));
    expect(printed.promptHashes).toEqual(PROMPTS.map((p) => sha256Hex(Buffer.from(p, 'utf8'))));
    expect(printed.samples.map((s) => [s.dir, s.promptIndices])).toEqual([0, 1, 2].map((k) => [`lora-${k}`, samplePromptIndices(7, 'lora', k, PROMPTS.length, TINY_N)]));
    expect(fs.readdirSync(path.join(root, 'k3')).sort()).toEqual(['dnd.json', 'lora-0', 'lora-1', 'lora-2']);
    const a0 = fs.readFileSync(path.join(root, 'k3', 'lora-0', 'adapter_model.safetensors'));
    expect(a0.equals(fs.readFileSync(path.join(root, 'k3', 'lora-1', 'adapter_model.safetensors')))).toBe(false);
  });

  it('takes the instructions of an instruction-format JSON file (the shipped sets\' format)', async () => {
    const recs = (JSON.parse(fs.readFileSync(path.join(DATA_DIR, 'boolq', 'test.json'), 'utf8')) as Array<{ instruction: string }>).slice(0, 5);
    fs.writeFileSync(path.join(root, 'boolq.json'), JSON.stringify(recs));
    const rec = await runGenerate({ generator: genDir, prompts: path.join(root, 'boolq.json'), out: path.join(root, 'boolq-lora'), samples: 1, seed: 3, encoder: tinyBertFixtureDir() });
    expect(rec.promptHashes).toEqual(recs.map((x) => sha256Hex(Buffer.from(x.instruction, 'utf8'))));
    expect(readPeftAdapter(path.join(root, 'boolq-lora')).tensors.size).toBe(8);
  });

  it('names what is wrong with the prompts and writes nothing', async () => {
    const bad = (name: string, content: string | Buffer): string => { const f = path.join(root, name); fs.writeFileSync(f, content); return f; };
    const cases: Array<[string, string]> = [
      [bad('empty.txt', '\n  \n'), 'no prompts (an empty file?)'],
      [bad('task.csv', 'a,b\n'), 'unknown prompt-file format ".csv"; use .txt (one prompt per line), .jsonl or .json'],
      [bad('latin1.txt', Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x3f, 0x0a])), 'latin1.txt: not UTF-8 text'],
      [bad('three.txt', PROMPTS.slice(0, 3).join('\n')), `3 prompts given, the generator takes N = ${TINY_N} per LoRA`],
      [bad('broken.jsonl', '"ok"\n{"instruction": \n'), 'broken.jsonl:2: not a JSON line'],
      [bad('no-instr.json', JSON.stringify([{ question: 'x' }])), 'no-instr.json[0]: expected a prompt string or an {"instruction": ...} record'],
      [path.join(root, 'missing.txt'), `prompt file ${path.join(root, 'missing.txt')} not found`],
    ];
    for (const [file, msg] of cases) {
      const out = path.join(root, `never-${path.basename(file)}`);
      await expect(runGenerate({ generator: genDir, prompts: file, out, samples: 1, seed: 0, encoder: tinyBertFixtureDir() })).rejects.toThrow(msg);
      expect(fs.existsSync(out)).toBe(false);
    }
    const r = await dnd(root, env, ['generate', '--generator', genDir, '--prompts', 'empty.txt', '--out', 'never']);
    expect([r.code, r.stderr.trim()]).toEqual([1, `dnd: empty.txt: no prompts (an empty file?)`]);
    expect(fs.readdirSync(root).filter((f) => f.startsWith('never') || f.startsWith('.never'))).toEqual([]);
  });

  it('refuses a missing or corrupt generator, another base model, and an encoder that is missing or not the trained one', async () => {
    const task = path.join(root, 'task.txt');
    const run = (o: Partial<Parameters<typeof runGenerate>[0]>) => runGenerate({ generator: genDir, prompts: task, out: path.join(root, 'never'), samples: 1, seed: 0, encoder: tinyBertFixtureDir(), ...o });
    await expect(run({ generator: path.join(root, 'nope') })).rejects.toThrow(`generator directory ${path.join(root, 'nope')} not found`);
    const corrupt = path.join(root, 'corrupt');
    fs.cpSync(genDir, corrupt, { recursive: true });
    fs.appendFileSync(path.join(corrupt, 'generator.safetensors'), Buffer.from([0]));
    await expect(run({ generator: corrupt })).rejects.toThrow('(corrupt or replaced weights)');
    await expect(run({ base: 'smollm2-135m-instruct' })).rejects.toThrow('trained for base model "llama", not "smollm2-135m-instruct"');
    await expect(run({ base: '/somewhere/models/llama' })).resolves.toBeDefined();
    fs.rmSync(path.join(root, 'never'), { recursive: true });
    // A copy of the tiny BERT with one weight byte changed: another encoder under the same name, refused by digest.
    const other = path.join(root, 'other-bert');
    fs.cpSync(tinyBertFixtureDir(), other, { recursive: true });
    const w = path.join(other, 'model.safetensors');
    const bytes = fs.readFileSync(w);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    fs.writeFileSync(w, bytes);
    await expect(run({ encoder: other })).rejects.toThrow(/encoder "tiny-bert" has digest [0-9a-f]{12}\.\.\., the generator was trained with [0-9a-f]{12}\.\.\./);
    const r = await dnd(root, { DND_CACHE: path.join(root, 'empty-cache') }, ['generate', '--generator', genDir, '--prompts', 'task.txt', '--out', 'never']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the generator's encoder "tiny-bert"`);
    expect(r.stderr).toContain('--encoder <dir> to point at it');
    expect(fs.existsSync(path.join(root, 'never'))).toBe(false);
  });
});
