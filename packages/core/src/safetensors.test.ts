import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { readSafetensors, SafetensorsFile, writeSafetensors, serializeSafetensors, MAX_HEADER_BYTES } from './safetensors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dnd-st-'));

describe('safetensors', () => {
  it('round-trips F32, F16, BF16, I64 and metadata, with an 8-byte aligned header', () => {
    const f = path.join(tmp(), 'a.safetensors');
    const x = Float32Array.from([1, -2.5, 0.1, 65504, 1e-3, 3.14159]);
    writeSafetensors(f, {
      a: { dtype: 'F32', shape: [2, 3], data: x },
      h: { dtype: 'F16', shape: [6], data: x },
      b: { dtype: 'BF16', shape: [3, 2], data: x },
      ids: { dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) },
    }, { format: 'pt' });
    const buf = fs.readFileSync(f);
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    const { tensors, metadata } = readSafetensors(f);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual(Array.from(x));
    const h = tensors.get('h')!.data as Float32Array;
    x.forEach((v, i) => expect(Math.abs(h[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-3 + 1e-7));
    const b = tensors.get('b')!.data as Float32Array;
    x.forEach((v, i) => expect(Math.abs(b[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 8e-3));
    expect(tensors.get('b')!.shape).toEqual([3, 2]);
    expect(Array.from(tensors.get('ids')!.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
  });

  it('reads one tensor lazily without the others', () => {
    const f = path.join(tmp(), 'b.safetensors');
    writeSafetensors(f, { p: { dtype: 'F32', shape: [2], data: Float32Array.from([7, 8]) }, q: { dtype: 'F32', shape: [1], data: Float32Array.from([9]) } });
    const r = SafetensorsFile.open(f);
    expect(r.names.sort()).toEqual(['p', 'q']);
    expect(Array.from(r.readFloat('q').data)).toEqual([9]);
    expect(() => r.read('nope')).toThrow(/no tensor named "nope"/);
    r.close();
  });

  it('names the file and the problem for a truncated file', () => {
    const f = path.join(tmp(), 'c.safetensors');
    const buf = serializeSafetensors({ w: { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) } });
    fs.writeFileSync(f, buf.subarray(0, buf.length - 10));
    expect(() => readSafetensors(f)).toThrow(new RegExp(`${path.basename(f)}.*"w".*truncated`));
  });

  it('refuses a header over the guard', () => {
    const f = path.join(tmp(), 'd.safetensors');
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES + 8));
    fs.writeFileSync(f, Buffer.concat([len, Buffer.from('{}')]));
    expect(() => readSafetensors(f)).toThrow(/over the .*guard/);
  });

  it('refuses an unsupported dtype, naming the tensor', () => {
    const f = path.join(tmp(), 'e.safetensors');
    const json = Buffer.from(JSON.stringify({ z: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(f, Buffer.concat([len, json, Buffer.alloc(1)]));
    expect(() => readSafetensors(f)).toThrow(/"z".*unsupported dtype/);
  });
});

// A file with a hand-written header (what a hostile or broken writer produces) and `dataBytes` of data.
function rawFile(header: unknown, dataBytes: number): string {
  const f = path.join(tmp(), 'raw.safetensors');
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(f, Buffer.concat([len, json, Buffer.alloc(dataBytes, 0x41)]));
  return f;
}

describe('safetensors bounds (issue 20 item 6)', () => {
  it('refuses negative data_offsets instead of reading header bytes as weights', () => {
    // [-8, 0] spans the 8 bytes a F32[2] needs, but they would be the last 8 header bytes.
    const f = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, 8);
    expect(() => readSafetensors(f)).toThrow(/"w" has bad data_offsets \[-8,0\]/);
  });

  it('refuses fractional and non-numeric offsets, overlapping tensors and offsets past the data', () => {
    expect(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, 8))).toThrow(/bad data_offsets/);
    expect(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: ['0', '4'] } }, 8))).toThrow(/bad data_offsets/);
    expect(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12))).toThrow(/"a" and "b" overlap/);
    expect(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8))).toThrow(/past the data section/);
  });

  it('refuses a header of nested brackets before parsing it (the 99 MB "[" header)', () => {
    const f = rawFile('['.repeat(4 << 20), 0);
    expect(() => readSafetensors(f)).toThrow(/header does not start with a JSON object/);
    const g = rawFile('{"a":' + '['.repeat(4 << 20), 0);
    expect(() => readSafetensors(g)).toThrow(/nests deeper than 3 levels at byte 7/);
  });

  it('accepts brackets inside strings (tensor names, metadata) at any count', () => {
    const f = path.join(tmp(), 'n.safetensors');
    writeSafetensors(f, { 'w[[[[{{': { dtype: 'F32', shape: [1], data: Float32Array.from([3]) } }, { note: ']]]}}[[[["' });
    const r = readSafetensors(f);
    expect(Array.from(r.tensors.get('w[[[[{{')!.data as Float32Array)).toEqual([3]);
    expect(r.metadata['note']).toBe(']]]}}[[[["');
  });
});

describe('safetensors regressions', () => {
  it('accepts a Float32Array from another realm (tfjs-node dataSync under jest)', () => {
    const foreign = vm.runInNewContext('new Float32Array([1, 2, 3])') as Float32Array;
    expect(foreign instanceof Float32Array).toBe(false);
    const f = path.join(tmp(), 'realm.safetensors');
    writeSafetensors(f, { x: { dtype: 'F32', shape: [3], data: foreign } });
    expect(Array.from(readSafetensors(f).tensors.get('x')!.data as Float32Array)).toEqual([1, 2, 3]);
  });
});
