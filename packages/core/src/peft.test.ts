// PEFT adapter files: round trip, PEFT's JSON keys, name helpers, and bad input that writes nothing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  DEFAULT_LORA_ADAPTER_CONFIG, loraScaling, parsePeftAdapterConfig, parsePeftTensorName, peftTensorName, readPeftAdapter,
  writePeftAdapter, type LoraAdapter,
} from './peft';
import { readSafetensors, writeSafetensors } from './safetensors';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'peft-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function adapter(r = 2): LoraAdapter {
  const cfg = { ...DEFAULT_LORA_ADAPTER_CONFIG, r, loraAlpha: 4, targetModules: ['q_proj', 'down_proj'], baseModelNameOrPath: 'tiny' };
  const tensors = new Map();
  let k = 0;
  const t = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape[0]! * shape[1]! }, () => (k++ % 7) / 7) });
  for (const l of [0, 1]) {
    tensors.set(peftTensorName(l, 'q_proj', 'A'), t([r, 8])); tensors.set(peftTensorName(l, 'q_proj', 'B'), t([8, r]));
    tensors.set(peftTensorName(l, 'down_proj', 'A'), t([r, 16])); tensors.set(peftTensorName(l, 'down_proj', 'B'), t([8, r]));
  }
  return { config: cfg, tensors };
}

it('names and scaling follow PEFT', () => {
  expect(peftTensorName(3, 'up_proj', 'B')).toBe('base_model.model.model.layers.3.mlp.up_proj.lora_B.weight');
  expect(parsePeftTensorName('base_model.model.model.layers.12.self_attn.o_proj.lora_A.weight')).toEqual({ layer: 12, module: 'o_proj', part: 'A' });
  expect(parsePeftTensorName('base_model.model.model.layers.0.mlp.q_proj.lora_A.weight')).toBeNull();
  expect(parsePeftTensorName('base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight')).toBeNull();
  expect(loraScaling({ r: 8, loraAlpha: 16, useRslora: false })).toBe(2);
  expect(loraScaling({ r: 16, loraAlpha: 16, useRslora: true })).toBe(4);
});

it('writes PEFT\'s files and reads them back exactly', () => {
  const dir = path.join(tmp, 'ok');
  const a = adapter();
  writePeftAdapter(dir, a, { source: 'test' });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  expect(json).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, bias: 'none',
    fan_in_fan_out: false, use_rslora: false, target_modules: ['q_proj', 'down_proj'], base_model_name_or_path: 'tiny' });
  const st = readSafetensors(path.join(dir, 'adapter_model.safetensors'));
  expect(st.metadata).toEqual({ source: 'test', format: 'pt' });
  expect([...st.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
  const back = readPeftAdapter(dir);
  expect(back.config).toEqual(a.config);
  expect([...back.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
  for (const [n, t] of a.tensors) expect(back.tensors.get(n)).toEqual(t);
});

it.each([
  ['a lora_B whose rank is not r', (a: LoraAdapter) => { a.tensors.set(peftTensorName(0, 'q_proj', 'B'), { shape: [8, 3], data: new Float32Array(24) }); }, /layers\.0\.self_attn\.q_proj\.lora_B\.weight" \(lora_B\) must be \[out, r=2\], got \[8,3\]/],
  ['an unpaired lora_A', (a: LoraAdapter) => { a.tensors.delete(peftTensorName(1, 'down_proj', 'B')); }, /layers\.1\.mlp\.down_proj\.lora_B\.weight is missing/],
  ['a module outside target_modules', (a: LoraAdapter) => { a.tensors.set(peftTensorName(0, 'v_proj', 'A'), { shape: [2, 8], data: new Float32Array(16) }); }, /is for v_proj, which is not in target_modules/],
  ['a foreign tensor name', (a: LoraAdapter) => { a.tensors.set('lm_head.weight', { shape: [2, 2], data: new Float32Array(4) }); }, /tensor "lm_head\.weight" is not a PEFT LoRA name/],
  ['data that does not fit its shape', (a: LoraAdapter) => { a.tensors.set(peftTensorName(0, 'q_proj', 'A'), { shape: [2, 8], data: new Float32Array(3) }); }, /has 3 values but shape \[2,8\] needs 16/],
  ['an unknown target module', (a: LoraAdapter) => { a.config.targetModules = ['q_proj', 'lm_head']; }, /unsupported module "lm_head"/],
  ['a zero rank', (a: LoraAdapter) => { a.config.r = 0; }, /\.r must be an integer >= 1, got 0/],
])('refuses %s and writes nothing', (name, edit, msg) => {
  const dir = path.join(tmp, name.replace(/\W+/g, '-'));
  const a = adapter();
  edit(a);
  expect(() => writePeftAdapter(dir, a)).toThrow(msg);
  expect(fs.existsSync(dir)).toBe(false);
});

it('reads PEFT configs and rejects variants we do not implement, naming the file', () => {
  const base = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['v_proj', 'q_proj'], base_model_name_or_path: null };
  expect(parsePeftAdapterConfig(base, 'x/adapter_config.json')).toEqual({
    r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj', 'v_proj'], baseModelNameOrPath: '', useRslora: false,
  });
  expect(() => parsePeftAdapterConfig({ ...base, use_dora: true }, 'x/adapter_config.json')).toThrow('x/adapter_config.json: use_dora=true is not supported');
  expect(() => parsePeftAdapterConfig({ ...base, peft_type: 'IA3' }, 'f')).toThrow(/peft_type "IA3" is not supported/);
  expect(() => parsePeftAdapterConfig({ ...base, target_modules: '.*proj' }, 'f')).toThrow(/as a regex/);
  expect(() => parsePeftAdapterConfig({ ...base, rank_pattern: { q_proj: 2 } }, 'f')).toThrow(/rank_pattern/);
});

it('reading names the file: missing weights, pickled weights, integer tensors', () => {
  const dir = path.join(tmp, 'read-bad');
  fs.mkdirSync(dir);
  expect(() => readPeftAdapter(dir)).toThrow(/adapter_model\.safetensors: not found/);
  fs.writeFileSync(path.join(dir, 'adapter_model.bin'), 'x');
  expect(() => readPeftAdapter(dir)).toThrow(/adapter_model\.bin: pickled adapters are not supported/);
  writePeftAdapter(dir, adapter());
  const name = peftTensorName(0, 'q_proj', 'A');
  writeSafetensors(path.join(dir, 'adapter_model.safetensors'), { [name]: { dtype: 'I32', shape: [2, 8], data: new Int32Array(16) } });
  expect(() => readPeftAdapter(dir)).toThrow(`tensor "${name}" has dtype I32`);
});

it('refuses an adapter whose safetensors has negative data_offsets (it read header bytes as ~4.6e24 weights)', () => {
  const dir = path.join(tmp, 'neg-offsets');
  writePeftAdapter(dir, adapter());
  const file = path.join(dir, 'adapter_model.safetensors');
  const buf = fs.readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
  const name = Object.keys(header).find((k) => k !== '__metadata__' && header[k].data_offsets[0] === 0)!; // the first tensor
  const [b, e] = header[name].data_offsets as [number, number];
  header[name].data_offsets = [b - 64, e - 64]; // same span, shifted into the header bytes
  const json = Buffer.from(JSON.stringify(header));
  const lenBuf = Buffer.alloc(8); lenBuf.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([lenBuf, json, buf.subarray(8 + len)]));
  expect(() => readPeftAdapter(dir)).toThrow(new RegExp(`adapter_model\\.safetensors: tensor "${name.replace(/\./g, '\\.')}" has bad data_offsets \\[-`));
});
