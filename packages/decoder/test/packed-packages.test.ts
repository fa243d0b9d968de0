// The packages as someone outside the repository gets them: builds @dnd/core, @dnd/encoder and @dnd/decoder,
// packs each with `pnpm pack` (workspace dependencies become versions), installs the three tarballs into a
// fresh temporary project with npm (third-party packages from the registry or npm's cache; tfjs-node, optional,
// left out, so they run on the wasm backend), and runs the runnable example of each package README there:
// read a safetensors file, encode prompts with MiniLM, generate a LoRA from a generator directory. Outputs are
// checked against the same work done here from the sources (tensorflow backend). Needs the network once (npm).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_LORA_ADAPTER_CONFIG, SafetensorsFile, initBackend, llamaLoraShapes, loraTokenLayout, readPeftAdapter } from '@dnd/core';
import { loadTextEncoder } from '@dnd/encoder';
import { HyperConvDecoder, generateLora, readGeneratorDir, writeGeneratorDir } from '../src';

const REPO = path.resolve(__dirname, '..', '..', '..');
const PACKAGES = ['core', 'encoder', 'decoder'];
const MARK = '<!-- runnable outside the repository: packages/decoder/test/packed-packages.test.ts installs the packed packages with npm and runs this block -->';
const TINY_LLAMA = path.join(REPO, 'packages', 'lm', 'test', 'fixtures', 'llama');
const MINILM = path.join(process.env['DND_CACHE'] || path.join(os.homedir(), '.cache', 'dnd'), 'models', 'all-MiniLM-L6-v2');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-packed-'));
const proj = path.join(root, 'project');

/** The runnable example of a package README (the js block after MARK). */
function readmeExample(pkg: string): string {
  const text = fs.readFileSync(path.join(REPO, 'packages', pkg, 'README.md'), 'utf8');
  const at = text.indexOf(MARK);
  if (at < 0) throw new Error(`packages/${pkg}/README.md has no runnable example (${MARK})`);
  const m = /```js\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`packages/${pkg}/README.md: no js block after the marker`);
  return m[1]!;
}

function run(file: string, args: string[]): string {
  return execFileSync(process.execPath, [file, ...args], { cwd: proj, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(MINILM, 'config.json'))) throw new Error(`MiniLM not found at ${MINILM}: bash infra/assets-minilm.sh provisions it`);
  const tsc = require.resolve('typescript/bin/tsc');
  const tarballs: string[] = [];
  for (const p of PACKAGES) {
    const dir = path.join(REPO, 'packages', p);
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.lib.json'], { cwd: dir, stdio: 'pipe' });
    const before = new Set(fs.readdirSync(root));
    execFileSync('pnpm', ['pack', '--pack-destination', root], { cwd: dir, stdio: 'pipe' });
    tarballs.push(fs.readdirSync(root).find((f) => !before.has(f) && f.endsWith('.tgz'))!);
  }
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({
    name: 'outside', private: true, dependencies: Object.fromEntries(PACKAGES.map((p, i) => [`@dnd/${p}`, `file:../${tarballs[i]}`])),
  }, null, 2));
  execFileSync('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: proj, stdio: 'pipe', timeout: 500_000 });
  PACKAGES.forEach((p) => fs.writeFileSync(path.join(proj, `${p}-example.js`), readmeExample(p)));
  await initBackend();
}, 900_000);
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true }); // ~300 MB of node_modules
});

describe('the packed packages, installed with npm outside the workspace', () => {
  it('resolve workspace dependencies to versions and expose only built output', () => {
    const decoderPkg = JSON.parse(fs.readFileSync(path.join(proj, 'node_modules', '@dnd', 'decoder', 'package.json'), 'utf8'));
    expect(decoderPkg.dependencies['@dnd/core']).toBe(JSON.parse(fs.readFileSync(path.join(REPO, 'packages', 'core', 'package.json'), 'utf8')).version);
    expect(decoderPkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(fs.existsSync(path.join(proj, 'node_modules', '@dnd', 'decoder', 'src'))).toBe(false);
    expect(fs.existsSync(path.join(proj, 'node_modules', '@dnd', 'decoder', 'dist', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(proj, 'node_modules', '@tensorflow', 'tfjs-node'))).toBe(false);
  });

  it('@dnd/core README: reads a safetensors file', () => {
    const out = run('core-example.js', [path.join(TINY_LLAMA, 'model.safetensors')]);
    const f = SafetensorsFile.open(path.join(TINY_LLAMA, 'model.safetensors'));
    const first = f.readFloat(f.names[0]!);
    expect(out).toContain(`${f.names.length} tensors, metadata {"format":"pt"}`);
    expect(out).toContain(`${f.names[0]} [${first.shape}] first ${first.data[0]}`);
    f.close();
  });

  it('@dnd/encoder README: encodes prompts with MiniLM as the sources do', async () => {
    const out = run('encoder-example.js', [MINILM]);
    const m = /condition \[2,32,384\], truncated 0, cos\(a cat, a kitten\) = (-?\d\.\d{4})/.exec(out);
    expect(m).not.toBeNull();
    const enc = await loadTextEncoder(MINILM);
    const e = await enc.embed(['a cat', 'a kitten'], { maxLength: 32 });
    let cos = 0;
    for (let i = 0; i < enc.dim; i++) cos += e.data[i]! * e.data[enc.dim + i]!;
    enc.dispose();
    expect(Math.abs(Number(m![1]) - cos)).toBeLessThan(2e-4); // wasm there, tensorflow here; 4 printed digits
  });

  it('@dnd/decoder README: generates a LoRA from a generator directory, equal to the sources\' within float tolerance', async () => {
    const enc = await loadTextEncoder(MINILM);
    const layout = loraTokenLayout(llamaLoraShapes({ numLayers: 2, hiddenSize: 64, intermediateSize: 128, kvOutSize: 32, targetModules: ['q_proj', 'v_proj'] }), { rank: 2, width: 16 });
    const decoder = { features: [[4, 16, 384], [12, 8, 48], layout.tokenShape] as Array<[number, number, number]>, kernelSize: 3 };
    const gen = HyperConvDecoder.create(decoder, 3);
    const genDir = path.join(root, 'generator');
    writeGeneratorDir(genDir, {
      params: gen.stateDict(), decoder, template: { layout, adapterConfig: { ...DEFAULT_LORA_ADAPTER_CONFIG, r: 2, loraAlpha: 4, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: 'llama' } },
      encoder: { name: 'all-MiniLM-L6-v2', digest: enc.digest, kind: 'bert' }, baseModel: { name: 'llama', digest: '0'.repeat(64), architecture: 'LlamaForCausalLM' },
      training: { sets: [], heldOut: [], loss: { kind: 'weighted-mse', tokenWeights: 'uniform' }, train: null, steps: 0, finalLoss: null },
    });
    gen.dispose();
    const out = run('decoder-example.js', [genDir, MINILM, path.join(root, 'outside-lora')]);
    expect(out).toMatch(/outside-lora: a rank-2 LoRA for llama in \d+\.\d{3} s/);
    const theirs = readPeftAdapter(path.join(root, 'outside-lora'));
    const g = readGeneratorDir(genDir);
    const prompts = Array.from({ length: 4 }, (_, i) => `Question ${i + 1}: which of the two answers is right?`);
    await generateLora(prompts, g.generator, { encoder: enc, ...g.template, maxLength: 16, outDir: path.join(root, 'inside-lora') });
    const ours = readPeftAdapter(path.join(root, 'inside-lora'));
    expect(theirs.config).toEqual(ours.config);
    for (const [k, t] of ours.tensors) {
      const u = theirs.tensors.get(k)!;
      expect(u.shape).toEqual(t.shape);
      const scale = t.data.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      const diff = t.data.reduce((a, v, i) => Math.max(a, Math.abs(v - u.data[i]!)), 0);
      expect(diff).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
    }
    g.generator.dispose();
    enc.dispose();
  });
});
