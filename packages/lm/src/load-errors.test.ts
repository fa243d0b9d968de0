// Bad model directories and adapters give errors naming the file and tensor, and leave nothing allocated.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, readPeftAdapter, readSafetensors, writeSafetensors, type TensorToWrite } from '@dnd/core';
import { loadCausalLM } from './causal-lm';

const FIX = path.join(__dirname, '..', 'test', 'fixtures');
let tmp: string;

/** Copies the tiny llama fixture and lets `edit` change config.json and the tensors. */
function variant(name: string, edit: (cfg: any, tensors: Map<string, TensorToWrite>) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(path.join(FIX, 'llama'))) fs.copyFileSync(path.join(FIX, 'llama', f), path.join(dir, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const tensors = new Map<string, TensorToWrite>(readSafetensors(path.join(dir, 'model.safetensors')).tensors);
  edit(cfg, tensors);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-errors-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it.each([
  ['unknown architecture', (c: any) => { c.architectures = ['GPT2LMHeadModel']; c.model_type = 'gpt2'; }, /config\.json: unknown architecture \["GPT2LMHeadModel"\]/],
  ['missing tensor', (_c: any, t: Map<string, TensorToWrite>) => { t.delete('model.layers.1.mlp.up_proj.weight'); }, /model\.safetensors: missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"/],
  ['shape mismatch', (c: any) => { c.intermediate_size = 96; }, /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[128,64\] but config\.json implies \[96,64\]/],
  ['unsupported dtype', (_c: any, t: Map<string, TensorToWrite>) => { t.set('model.norm.weight', { dtype: 'I32', shape: [64], data: new Int32Array(64) }); }, /model\.safetensors: tensor "model\.norm\.weight" has unsupported dtype I32/],
  ['unexpected tensor', (_c: any, t: Map<string, TensorToWrite>) => { t.set('model.layers.2.mlp.up_proj.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) }); }, /unexpected tensor "model\.layers\.2\.mlp\.up_proj\.weight"/],
])('%s: clear error, no tensors left', async (name, edit, msg) => {
  const dir = variant(name.replace(/ /g, '-'), edit as any);
  const before = tf.memory().numTensors;
  await expect(loadCausalLM(dir)).rejects.toThrow(msg);
  expect(tf.memory().numTensors).toBe(before);
});

it('an adapter whose shapes do not fit the base is refused and the model is unchanged', async () => {
  const lm = await loadCausalLM(path.join(FIX, 'llama'));
  const good = readPeftAdapter(path.join(FIX, 'llama-adapter'));
  lm.setLoraWeights(good);
  const probe = [[5, 6, 7]];
  const ref = lm.forwardLogits(probe).data;
  const name = 'base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight';
  const bad = { config: good.config, tensors: new Map(good.tensors) };
  bad.tensors.set(name, { data: new Float32Array(64 * 4), shape: [64, 4] });
  expect(() => lm.setLoraWeights(bad)).toThrow(`setLoraWeights: tensor "${name}" has shape [64,4] but the base model needs [32,4]`);
  const deep = { config: good.config, tensors: new Map(good.tensors) };
  deep.tensors.set('base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight', { data: new Float32Array(4 * 64), shape: [4, 64] });
  deep.tensors.set('base_model.model.model.layers.7.self_attn.q_proj.lora_B.weight', { data: new Float32Array(64 * 4), shape: [64, 4] });
  expect(() => lm.setLoraWeights(deep)).toThrow(/is for layer 7, but the base model has 2 layers/);
  const other = { config: { ...good.config, r: 2 }, tensors: new Map(good.tensors) };
  expect(() => lm.setLoraWeights(other)).toThrow(/lora_A\) must be \[r=2, in\], got \[4,/);
  expect(lm.forwardLogits(probe).data).toEqual(ref);
  lm.dispose();
});
